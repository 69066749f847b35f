//! The peer protocol's wire format: a versioned, length-bounded binary
//! envelope around typed messages, and the fragmentation that lets a message
//! larger than one data-channel message travel as several frames.
//!
//! A frame is `b"CB"`, the protocol version byte, a kind byte, and then:
//! - kind 0 (whole): the encoded message;
//! - kind 1 (first fragment): the message's total length (u32, little
//!   endian) and its first bytes;
//! - kind 2 (middle fragment) and 3 (last fragment): further bytes.
//!
//! Frames travel on a reliable, ordered channel, so fragments of one message
//! arrive back to back; anything else is an error. Messages are encoded with
//! postcard. Every decoded message is checked against the limits below before
//! anything acts on it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::blob::Hash;

/// The version this build speaks. Peers with another version are refused
/// with [`Error::PeerTooNew`] or [`Error::PeerTooOld`], which both sides can show.
/// Version 2 added [`Message::StateDigest`].
pub const PROTOCOL_VERSION: u8 = 2;
/// The first two bytes of every frame.
pub const MAGIC: [u8; 2] = *b"CB";
/// Default largest frame: what every WebRTC stack accepts in one message.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 64 * 1024;
/// Smallest frame size a session may be configured with.
pub const MIN_FRAME_SIZE: usize = 1024;
/// Largest message after reassembly (the first sync of a big board).
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;
/// Largest display name or bye reason, in bytes.
pub const MAX_TEXT_BYTES: usize = 512;
/// Largest authentication proof in a hello, in bytes.
pub const MAX_PROOF_BYTES: usize = 128;

const WHOLE: u8 = 0;
const FIRST: u8 = 1;
const MIDDLE: u8 = 2;
const LAST: u8 = 3;
const HEADER: usize = 4;
const FIRST_HEADER: usize = 8;

/// What went wrong with bytes from a peer.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Error {
    #[error("the peer speaks protocol version {theirs}, newer than this app's {ours}: update this app")]
    PeerTooNew { theirs: u8, ours: u8 },
    #[error("the peer speaks protocol version {theirs}, older than this app's {ours}: the peer must update")]
    PeerTooOld { theirs: u8, ours: u8 },
    #[error("not a Corkboard frame")]
    BadMagic,
    #[error("frame too short ({0} bytes)")]
    Truncated(usize),
    #[error("unknown frame kind {0}")]
    BadFrameKind(u8),
    #[error("message of {size} bytes is larger than the limit of {max}")]
    TooLarge { size: usize, max: usize },
    #[error("fragments arrived out of order")]
    FragmentOutOfOrder,
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("invalid {0} in message")]
    InvalidField(&'static str),
}

/// The first message each side sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// The sender's replica id for this board.
    pub peer: u64,
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
    /// Proof of holding the board key, bound to this connection (checked by the transport's config).
    pub proof: Option<ByteBuf>,
    /// Everything the sender holds of the board (an encoded version vector):
    /// the receiver answers with what the sender lacks, so two diverged
    /// replicas reconcile in one round trip.
    pub version: ByteBuf,
}

/// Presence on the wire: card ids as raw UUID bytes, points as pairs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Presence {
    /// Increases with every presence message a sender sends.
    pub seq: u64,
    pub cursor: Option<(f64, f64)>,
    pub selection: Vec<[u8; 16]>,
    pub dragging: Vec<([u8; 16], f64, f64)>,
}

/// Everything peers say to each other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Message {
    Hello(Hello),
    /// "This is everything I have (a version vector); send what I lack."
    SyncRequest {
        version: ByteBuf,
    },
    /// Board changes the receiver lacks.
    SyncUpdates {
        updates: ByteBuf,
    },
    /// "Send me this blob, starting at this offset" (resuming a partial one).
    BlobWant {
        hash: Hash,
        offset: u64,
    },
    /// "I have it: this many bytes follow in chunks from your offset."
    BlobHave {
        hash: Hash,
        size: u64,
    },
    BlobMissing {
        hash: Hash,
    },
    BlobChunk {
        hash: Hash,
        offset: u64,
        data: ByteBuf,
    },
    /// "Stop sending this blob."
    BlobCancel {
        hash: Hash,
    },
    Presence(Presence),
    /// The sender is leaving, with a reason the receiver can show.
    Bye {
        reason: String,
    },
    /// A third peer's presence, relayed by a sender connected to it (the
    /// desktop app's embedded peer to its own page, which has no network of
    /// its own). Only a session configured to take relayed presence accepts it.
    PeerPresence {
        /// The third peer's replica id.
        peer: u64,
        name: String,
        /// `#rrggbb`.
        color: String,
        presence: Presence,
        /// How the sender's packets reach that peer, when known.
        path: Option<crate::presence::Path>,
    },
    /// A relayed peer has gone.
    PeerLeft {
        peer: u64,
    },
    /// "At this version my board's state has this digest"
    /// ([`crate::Board::state_digest`]): sent when both sides said they hold
    /// the same changes, so a forged replica id that made them differ shows.
    StateDigest {
        version: ByteBuf,
        digest: [u8; 32],
    },
}

impl Message {
    /// Encodes a message into frames of at most `max_frame` bytes.
    pub fn encode(&self, max_frame: usize) -> Vec<Vec<u8>> {
        let max_frame = max_frame.max(MIN_FRAME_SIZE);
        // Encoding into a Vec only fails on types serde cannot express, which
        // this enum does not contain. Most messages fit one frame: encode
        // them straight behind the header, with no copy.
        let whole = postcard::to_extend(self, header(WHOLE).to_vec()).unwrap_or_default();
        if whole.len() <= max_frame {
            return vec![whole];
        }
        frames(&whole[HEADER..], max_frame)
    }

    /// Decodes a reassembled message body and checks its limits.
    pub fn decode(body: &[u8]) -> Result<Message, Error> {
        let (message, rest): (Message, &[u8]) =
            postcard::take_from_bytes(body).map_err(|error| Error::Malformed(error.to_string()))?;
        if !rest.is_empty() {
            return Err(Error::Malformed(format!("{} trailing bytes", rest.len())));
        }
        message.check()?;
        Ok(message)
    }

    fn check(&self) -> Result<(), Error> {
        match self {
            Message::Hello(hello) => {
                if hello.name.len() > MAX_TEXT_BYTES {
                    return Err(Error::InvalidField("name"));
                }
                if !is_hex_color(&hello.color) {
                    return Err(Error::InvalidField("colour"));
                }
                if hello.proof.as_ref().is_some_and(|proof| proof.len() > MAX_PROOF_BYTES) {
                    return Err(Error::InvalidField("proof"));
                }
            }
            Message::BlobChunk { data, .. } if data.len() > crate::blob::CHUNK_SIZE => {
                return Err(Error::InvalidField("blob chunk size"));
            }
            Message::BlobHave { size, .. } if *size > crate::blob::MAX_BLOB_SIZE => {
                return Err(Error::InvalidField("blob size"));
            }
            Message::Presence(presence) => check_presence(presence)?,
            Message::PeerPresence { name, color, presence, .. } => {
                if name.len() > MAX_TEXT_BYTES {
                    return Err(Error::InvalidField("name"));
                }
                if !is_hex_color(color) {
                    return Err(Error::InvalidField("colour"));
                }
                check_presence(presence)?;
            }
            Message::Bye { reason } if reason.len() > MAX_TEXT_BYTES => {
                return Err(Error::InvalidField("bye reason"));
            }
            _ => {}
        }
        Ok(())
    }
}

fn check_presence(presence: &Presence) -> Result<(), Error> {
    let numbers = presence
        .cursor
        .iter()
        .flat_map(|(x, y)| [*x, *y])
        .chain(presence.dragging.iter().flat_map(|(_, x, y)| [*x, *y]));
    if numbers.into_iter().any(|v| !v.is_finite()) {
        return Err(Error::InvalidField("presence coordinate"));
    }
    let max = crate::presence::MAX_LISTED_CARDS;
    if presence.selection.len() > max || presence.dragging.len() > max {
        return Err(Error::InvalidField("presence card list"));
    }
    Ok(())
}

fn is_hex_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn header(kind: u8) -> [u8; HEADER] {
    [MAGIC[0], MAGIC[1], PROTOCOL_VERSION, kind]
}

/// Splits a message body into frames.
fn frames(body: &[u8], max_frame: usize) -> Vec<Vec<u8>> {
    if body.len() + HEADER <= max_frame {
        let mut frame = Vec::with_capacity(HEADER + body.len());
        frame.extend_from_slice(&header(WHOLE));
        frame.extend_from_slice(body);
        return vec![frame];
    }
    let mut out = Vec::with_capacity(body.len() / (max_frame - HEADER) + 2);
    let first_len = max_frame - FIRST_HEADER;
    let mut frame = Vec::with_capacity(max_frame);
    frame.extend_from_slice(&header(FIRST));
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(&body[..first_len]);
    out.push(frame);
    let mut rest = &body[first_len..];
    while !rest.is_empty() {
        let take = rest.len().min(max_frame - HEADER);
        let kind = if take == rest.len() { LAST } else { MIDDLE };
        let mut frame = Vec::with_capacity(HEADER + take);
        frame.extend_from_slice(&header(kind));
        frame.extend_from_slice(&rest[..take]);
        out.push(frame);
        rest = &rest[take..];
    }
    out
}

/// Reassembles frames into message bodies, holding at most one partial
/// message of at most [`MAX_MESSAGE_SIZE`] bytes.
#[derive(Debug, Default)]
pub struct Reassembler {
    partial: Option<(usize, Vec<u8>)>,
}

impl Reassembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes held of the message being reassembled.
    pub fn buffered(&self) -> usize {
        self.partial.as_ref().map_or(0, |(_, buffer)| buffer.len())
    }

    /// Takes one frame; returns a complete message body when one is finished
    /// (borrowed from the frame when the message came whole).
    pub fn push<'a>(&mut self, frame: &'a [u8]) -> Result<Option<Cow<'a, [u8]>>, Error> {
        if frame.len() < HEADER {
            return Err(Error::Truncated(frame.len()));
        }
        if frame[..2] != MAGIC {
            return Err(Error::BadMagic);
        }
        let version = frame[2];
        if version > PROTOCOL_VERSION {
            return Err(Error::PeerTooNew { theirs: version, ours: PROTOCOL_VERSION });
        }
        if version < PROTOCOL_VERSION {
            return Err(Error::PeerTooOld { theirs: version, ours: PROTOCOL_VERSION });
        }
        let kind = frame[3];
        let data = &frame[HEADER..];
        match (kind, self.partial.as_mut()) {
            (WHOLE, None) => {
                if data.len() > MAX_MESSAGE_SIZE {
                    return Err(Error::TooLarge { size: data.len(), max: MAX_MESSAGE_SIZE });
                }
                Ok(Some(Cow::Borrowed(data)))
            }
            (FIRST, None) => {
                if frame.len() < FIRST_HEADER {
                    return Err(Error::Truncated(frame.len()));
                }
                let mut length = [0u8; 4];
                length.copy_from_slice(&frame[HEADER..FIRST_HEADER]);
                let total = u32::from_le_bytes(length) as usize;
                if total > MAX_MESSAGE_SIZE {
                    return Err(Error::TooLarge { size: total, max: MAX_MESSAGE_SIZE });
                }
                let data = &frame[FIRST_HEADER..];
                if data.len() >= total {
                    return Err(Error::FragmentOutOfOrder);
                }
                // Grow as data arrives rather than trusting the announced length.
                let mut buffer = Vec::with_capacity(data.len() * 2);
                buffer.extend_from_slice(data);
                self.partial = Some((total, buffer));
                Ok(None)
            }
            (MIDDLE | LAST, Some((total, buffer))) => {
                let total = *total;
                if buffer.len() + data.len() > total {
                    let size = buffer.len() + data.len();
                    self.partial = None;
                    return Err(Error::TooLarge { size, max: total });
                }
                buffer.extend_from_slice(data);
                let complete = buffer.len() == total;
                match (kind == LAST, complete) {
                    (false, false) => Ok(None),
                    (true, true) => Ok(self.partial.take().map(|(_, buffer)| Cow::Owned(buffer))),
                    _ => {
                        self.partial = None;
                        Err(Error::FragmentOutOfOrder)
                    }
                }
            }
            (WHOLE | FIRST | MIDDLE | LAST, _) => {
                self.partial = None;
                Err(Error::FragmentOutOfOrder)
            }
            (other, _) => Err(Error::BadFrameKind(other)),
        }
    }
}

/// Decodes a stream of frames into messages (for tests and fuzzing).
pub fn decode_frames<'a>(frames: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<Message>, Error> {
    let mut reassembler = Reassembler::new();
    let mut messages = Vec::new();
    for frame in frames {
        if let Some(body) = reassembler.push(frame)? {
            messages.push(Message::decode(&body)?);
        }
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn updates(len: usize) -> Message {
        Message::SyncUpdates { updates: ByteBuf::from((0..len).map(|i| i as u8).collect::<Vec<u8>>()) }
    }

    fn round_trip(message: &Message, max_frame: usize) -> Vec<Message> {
        let frames = message.encode(max_frame);
        assert!(frames.iter().all(|frame| frame.len() <= max_frame));
        decode_frames(frames.iter().map(Vec::as_slice)).unwrap_or_default()
    }

    #[test]
    fn small_messages_travel_in_one_frame() {
        let message = Message::Bye { reason: "done".into() };
        assert_eq!(message.encode(DEFAULT_MAX_FRAME_SIZE).len(), 1);
        assert_eq!(round_trip(&message, DEFAULT_MAX_FRAME_SIZE), vec![message]);
    }

    #[test]
    fn large_messages_are_fragmented_and_reassembled() {
        for len in [65_530, 65_600, 200_000, 1_000_000] {
            let message = updates(len);
            let frames = message.encode(DEFAULT_MAX_FRAME_SIZE);
            assert_eq!(frames.len() > 1, len + 8 > DEFAULT_MAX_FRAME_SIZE, "{len}");
            assert_eq!(round_trip(&message, DEFAULT_MAX_FRAME_SIZE), vec![message]);
        }
        // The smallest frame size still works.
        let message = updates(10_000);
        assert_eq!(round_trip(&message, MIN_FRAME_SIZE), vec![message]);
    }

    #[test]
    fn a_newer_version_is_refused_with_a_clear_error() {
        let mut frame = Message::Bye { reason: String::new() }.encode(DEFAULT_MAX_FRAME_SIZE).remove(0);
        frame[2] = PROTOCOL_VERSION + 1;
        let error = Reassembler::new().push(&frame).err();
        assert_eq!(error, Some(Error::PeerTooNew { theirs: PROTOCOL_VERSION + 1, ours: PROTOCOL_VERSION }));
        assert!(error.map(|e| e.to_string()).unwrap_or_default().contains("update this app"));
        frame[2] = 0;
        assert!(matches!(Reassembler::new().push(&frame), Err(Error::PeerTooOld { .. })));
    }

    #[test]
    fn garbage_frames_return_errors_not_panics() {
        let mut reassembler = Reassembler::new();
        assert_eq!(reassembler.push(b""), Err(Error::Truncated(0)));
        assert_eq!(reassembler.push(b"XX\x01\x00"), Err(Error::BadMagic));
        assert_eq!(reassembler.push(&[b'C', b'B', PROTOCOL_VERSION, 9]), Err(Error::BadFrameKind(9)));
        assert_eq!(
            reassembler.push(&[b'C', b'B', PROTOCOL_VERSION, 2, 1, 2]),
            Err(Error::FragmentOutOfOrder)
        );
        assert!(matches!(Message::decode(b"\xff\xff\xff"), Err(Error::Malformed(_))));
    }

    #[test]
    fn an_oversized_announced_length_is_refused_before_buffering() {
        let mut frame = vec![b'C', b'B', PROTOCOL_VERSION, FIRST];
        frame.extend_from_slice(&u32::MAX.to_le_bytes());
        frame.extend_from_slice(&[0; 16]);
        assert!(matches!(Reassembler::new().push(&frame), Err(Error::TooLarge { .. })));
    }

    #[test]
    fn a_fragment_without_its_first_is_refused() {
        let frames = updates(100_000).encode(DEFAULT_MAX_FRAME_SIZE);
        let mut reassembler = Reassembler::new();
        assert_eq!(reassembler.push(&frames[0]), Ok(None));
        assert!(reassembler.push(&frames[1]).is_ok());
        // The last fragment again: too many bytes.
        assert!(reassembler.push(&frames[1]).is_err());
    }

    #[test]
    fn messages_out_of_limits_are_refused() {
        let hello = |color: &str, name: usize| {
            Message::Hello(Hello {
                peer: 1,
                name: "x".repeat(name),
                color: color.into(),
                proof: None,
                version: ByteBuf::new(),
            })
        };
        let decode = |message: Message| {
            let frames = message.encode(DEFAULT_MAX_FRAME_SIZE);
            decode_frames(frames.iter().map(Vec::as_slice))
        };
        assert!(decode(hello("#aabbcc", 10)).is_ok());
        assert_eq!(decode(hello("red", 10)), Err(Error::InvalidField("colour")));
        assert_eq!(decode(hello("#aabbcc", MAX_TEXT_BYTES + 1)), Err(Error::InvalidField("name")));
        let presence = Message::Presence(Presence {
            seq: 1,
            cursor: Some((f64::NAN, 0.0)),
            selection: vec![],
            dragging: vec![],
        });
        assert_eq!(decode(presence), Err(Error::InvalidField("presence coordinate")));
    }
}
