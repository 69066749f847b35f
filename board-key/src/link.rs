//! Share links: a board's id and secret key in one string. Two forms:
//!
//! - web: `http(s)://HOST/#board=<uuid>&key=<base64url>` — the key is in
//!   the fragment, which browsers never send to a server;
//! - desktop: `corkboard://board#board=<uuid>&key=<base64url>`.
//!
//! and the bare fragment `board=<uuid>&key=<base64url>` both carry, which
//! the web app routes by and the desktop shell takes. This module is the
//! only place links and fragments are printed and parsed.

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
    /// The fragment both forms carry: `board=<uuid>&key=<base64url>`.
    pub fn fragment(&self) -> String {
        format!("board={}&key={}", self.board.hyphenated(), self.key_text())
    }

    /// The key as links print it (base64url, no padding).
    pub fn key_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.0)
    }

    /// A link from its parts as a board list keeps them (a uuid and a key text).
    pub fn from_parts(board: &str, key: &str) -> Result<ShareLink, Error> {
        ShareLink::parse_fragment(&format!("board={board}&key={key}"))
    }

    /// Parses a fragment (`board=…&key=…`, with or without its `#`).
    pub fn parse_fragment(text: &str) -> Result<ShareLink, Error> {
        let text = text.trim();
        let fragment = text.strip_prefix('#').unwrap_or(text);
        parse_pairs(fragment)
    }

    /// Whether text looks meant as a share link (a `corkboard:` link, or a
    /// web link with a board fragment), before it is parsed: how a program
    /// picks a link out of its arguments.
    pub fn looks_like_link(text: &str) -> bool {
        let lower = text.trim().to_ascii_lowercase();
        lower.starts_with("corkboard:")
            || ((lower.starts_with("http://") || lower.starts_with("https://")) && lower.contains("#board="))
    }

    /// Parses a link of either form or a bare fragment.
    pub fn parse_any(text: &str) -> Result<ShareLink, Error> {
        let bare = text.trim().trim_start_matches('#');
        if bare.starts_with("board=") || bare.starts_with("key=") {
            ShareLink::parse_fragment(bare)
        } else {
            ShareLink::parse(text)
        }
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
        parse_pairs(fragment)
    }
}

fn parse_pairs(fragment: &str) -> Result<ShareLink, Error> {
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
    fn fragments_and_parts_round_trip() {
        let fragment = link().fragment();
        assert!(fragment.starts_with("board=04040404-"), "{fragment}");
        for text in
            [fragment.clone(), format!("#{fragment}"), link().to_app_link(), link().to_web_link("http://h")]
        {
            assert_eq!(ShareLink::parse_any(&text), Ok(link()), "{text}");
        }
        assert_eq!(ShareLink::parse_fragment(&format!(" #{fragment} ")), Ok(link()));
        let board = link().board.hyphenated().to_string();
        assert_eq!(ShareLink::from_parts(&board, &link().key_text()), Ok(link()));
        assert_eq!(ShareLink::from_parts(&board, "short"), Err(Error::BadKey));
        assert_eq!(ShareLink::parse_any("hello"), Err(Error::NotALink));
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
