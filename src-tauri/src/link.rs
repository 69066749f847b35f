//! Share links handed to the desktop app: on its command line, by the OS's
//! `corkboard://` handler, or by a second start. Printing and parsing them is
//! `board_key::link`'s; this module only picks them out of arguments.

use board_key::link::ShareLink;

/// The first share link among command-line arguments (the program name excluded).
pub fn from_arguments(arguments: impl IntoIterator<Item = String>) -> Option<ShareLink> {
    arguments.into_iter().find_map(|argument| {
        if !ShareLink::looks_like_link(&argument) {
            return None;
        }
        match ShareLink::parse_any(&argument) {
            Ok(link) => Some(link),
            Err(error) => {
                tracing::warn!(%error, "ignoring a command-line argument that is not a valid share link");
                None
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> ShareLink {
        ShareLink { board: uuid::Uuid::from_bytes([7; 16]), key: board_key::BoardKey([9; 32]) }
    }

    #[test]
    fn every_form_parses_to_the_same_link_and_prints_as_a_fragment() {
        let fragment = link().fragment();
        assert!(fragment.starts_with("board=07070707-"), "{fragment}");
        assert!(fragment.contains("&key="));
        for text in [
            fragment.clone(),
            format!("#{fragment}"),
            link().to_app_link(),
            link().to_web_link("http://127.0.0.1:8787"),
        ] {
            assert_eq!(ShareLink::parse_any(&text), Ok(link()), "{text}");
        }
    }

    #[test]
    fn the_first_link_argument_is_found_and_other_arguments_are_ignored() {
        let args = ["--verbose".to_owned(), "corkboard://board#board=nope".to_owned(), link().to_app_link()];
        assert_eq!(from_arguments(args), Some(link()));
        let web = link().to_web_link("https://boards.example");
        assert_eq!(from_arguments([web]), Some(link()));
        assert_eq!(from_arguments(["https://example.org/".to_owned()]), None);
        assert_eq!(from_arguments(Vec::new()), None);
    }
}
