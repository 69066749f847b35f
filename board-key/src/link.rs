//! Share links: a board's id and secret key in one string. Two forms:
//!
//! - web: `http(s)://HOST/#board=<uuid>&key=<base64url>` — the key is in
//!   the fragment, which browsers never send to a server;
//! - desktop: `corkboard://board#board=<uuid>&key=<base64url>`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::BoardKey;

/// What is wrong with a share link; shown to the user as is.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Error {
    #[error("this is not a Corkboard link (expected corkboard://… or http(s)://…/#board=…&key=…)")]
    NotALink,
    #[error("the link has no board id")]
    MissingBoard,
    #[error("the link's board id is not valid")]
    BadBoard,
    #[error("the link has no key")]
    MissingKey,
    #[error("the link's key is damaged (it must be 43 characters of base64url)")]
    BadKey,
}

/// A board id and key, as a share link carries them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareLink {
    pub board: uuid::Uuid,
    pub key: BoardKey,
}

impl ShareLink {
    fn fragment(&self) -> String {
        format!("board={}&key={}", self.board.hyphenated(), URL_SAFE_NO_PAD.encode(self.key.0))
    }

    /// The desktop form: `corkboard://board#board=…&key=…`.
    pub fn to_app_link(&self) -> String {
        format!("corkboard://board#{}", self.fragment())
    }

    /// The web form for a server at `origin` (such as `http://127.0.0.1:8787`).
    pub fn to_web_link(&self, origin: &str) -> String {
        format!("{}/#{}", origin.trim_end_matches('/'), self.fragment())
    }

    /// Parses either form (surrounding whitespace is ignored).
    pub fn parse(text: &str) -> Result<ShareLink, Error> {
        let text = text.trim();
        let lower = text.get(..12).unwrap_or(text).to_ascii_lowercase();
        let known = lower.starts_with("corkboard://")
            || lower.starts_with("http://")
            || lower.starts_with("https://");
        if !known {
            return Err(Error::NotALink);
        }
        let (_, fragment) = text.split_once('#').ok_or(Error::MissingBoard)?;
        let mut board = None;
        let mut key = None;
        for pair in fragment.split('&') {
            match pair.split_once('=') {
                Some(("board", value)) => board = Some(value),
                Some(("key", value)) => key = Some(value),
                _ => {}
            }
        }
        let board = uuid::Uuid::try_parse(board.ok_or(Error::MissingBoard)?).map_err(|_| Error::BadBoard)?;
        let key_text = key.ok_or(Error::MissingKey)?;
        let bytes = URL_SAFE_NO_PAD.decode(key_text).map_err(|_| Error::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| Error::BadKey)?;
        Ok(ShareLink { board, key: BoardKey(key) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> ShareLink {
        ShareLink { board: uuid::Uuid::from_bytes([4; 16]), key: BoardKey([200; 32]) }
    }

    #[test]
    fn both_forms_round_trip() {
        let app = link().to_app_link();
        assert!(app.starts_with("corkboard://board#board="));
        assert_eq!(ShareLink::parse(&app), Ok(link()));
        let web = link().to_web_link("http://127.0.0.1:8787/");
        assert!(web.starts_with("http://127.0.0.1:8787/#board="));
        assert_eq!(ShareLink::parse(&format!("  {web}\n")), Ok(link()));
    }

    #[test]
    fn the_key_lives_only_in_the_fragment() {
        let web = link().to_web_link("https://boards.example");
        let (before, _) = web.split_once('#').unwrap_or_default();
        assert!(!before.contains("key"));
    }

    #[test]
    fn bad_links_get_clear_errors() {
        assert_eq!(ShareLink::parse("hello"), Err(Error::NotALink));
        assert_eq!(ShareLink::parse("https://x/"), Err(Error::MissingBoard));
        assert_eq!(ShareLink::parse("https://x/#board=nope&key=a"), Err(Error::BadBoard));
        let board = uuid::Uuid::from_bytes([4; 16]);
        assert_eq!(ShareLink::parse(&format!("https://x/#board={board}")), Err(Error::MissingKey));
        assert_eq!(ShareLink::parse(&format!("https://x/#board={board}&key=short")), Err(Error::BadKey));
        assert_eq!(ShareLink::parse(&format!("https://x/#board={board}&key=!!!")), Err(Error::BadKey));
    }
}
