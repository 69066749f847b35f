//! A misbehaving native peer: it knows a board's link, so it joins the
//! board's room on the signaling server, seals its offer or answer like any
//! peer (`peer::node` is the model) and opens a real WebRTC data channel to
//! whoever is there. Then, instead of the protocol's hello, it sends the
//! bytes it was given — garbage, or frames of a protocol version from the
//! future — and listens for the goodbye the other side owes it.
//!
//! It speaks to the first peer it meets in the room, which in the scenarios
//! is the one browser on the board.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use board_key::envelope::{Envelopes, Signal};
use board_key::link::ShareLink;
use board_key::room;
use board_model::protocol::{Message, Reassembler};
use peer::signal_client::{self, Event};
use peer::transport::{self, LinkEvent};
use tokio::sync::mpsc;

/// When the rogue peer sends its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// As soon as the data channel opens, racing the other side's own setup.
    AtOnce,
    /// After the other side's first frame (its hello): its session is listening.
    AfterTheirHello,
}

/// How the other side reacted: it closed the channel, after saying goodbye
/// with this reason if it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub bye: Option<String>,
}

/// Joins the room of the board `link` through the signaling server at
/// `signal_url`, connects to the first peer there, sends `frames` as they
/// are (`when` says when), and waits until the other side closes the
/// channel: by then it has read every frame sent. Fails if no connection
/// opens or the other side does not close it within `limit`.
pub async fn misbehave(
    signal_url: &str,
    link: &str,
    when: When,
    frames: Vec<Vec<u8>>,
    limit: Duration,
) -> Result<Outcome> {
    let link = ShareLink::parse(link).context("the rogue peer needs a board link")?;
    tokio::time::timeout(limit, run(signal_url, &link, when, frames))
        .await
        .map_err(|_| anyhow!("the other side did not close the rogue peer's channel within {limit:?}"))?
}

async fn send_all(writer: Option<&mpsc::Sender<Vec<u8>>>, frames: Vec<Vec<u8>>) -> Result<()> {
    let writer = writer.context("no data channel to send on")?;
    for frame in frames {
        writer.send(frame).await.context("cannot send on the data channel")?;
    }
    Ok(())
}

async fn run(signal_url: &str, link: &ShareLink, when: When, frames: Vec<Vec<u8>>) -> Result<Outcome> {
    let room = room::room_id(&link.key);
    let (signal, mut events) = signal_client::spawn(signal_url, signal_client::system_tls());
    signal.join(&room);
    let (link_tx, mut link_rx) = mpsc::unbounded_channel::<LinkEvent>();
    let mut rogue =
        Rogue { link, room: &room, signal, envelopes: None, me: None, remote: None, connection: None };
    let mut writer = None;
    let mut frames = Some(frames);
    let mut reassembler = Reassembler::new();
    let mut bye = None;
    loop {
        tokio::select! {
            event = events.recv() => {
                let event = event.context("the signaling client stopped")?;
                rogue.on_signal(event, &link_tx).await?;
            }
            event = link_rx.recv() => match event.context("the data channel's events stopped")? {
                LinkEvent::Open { writer: opened, .. } => {
                    writer = Some(opened);
                    if when == When::AtOnce && let Some(frames) = frames.take() {
                        send_all(writer.as_ref(), frames).await?;
                    }
                }
                LinkEvent::Message(inbound) => {
                    let frame = inbound.frame;
                    if let Some(frames) = frames.take() {
                        // Their first frame is their hello: now the garbage.
                        send_all(writer.as_ref(), frames).await?;
                    } else if let Ok(Some(body)) = reassembler.push(&frame)
                        && let Ok(Message::Bye { reason }) = Message::decode(&body)
                    {
                        bye = Some(reason);
                    }
                }
                LinkEvent::Writable | LinkEvent::Disconnected | LinkEvent::Path(_) => {}
                LinkEvent::Closed(reason) => {
                    if frames.is_some() {
                        bail!("the data channel closed before the rogue peer sent anything: {reason}");
                    }
                    break;
                }
            }
        }
    }
    if let Some(connection) = rogue.connection.take() {
        connection.close().await;
    }
    Ok(Outcome { bye })
}

struct Rogue<'a> {
    link: &'a ShareLink,
    room: &'a str,
    signal: signal_client::Handle,
    envelopes: Option<Envelopes>,
    me: Option<String>,
    /// The peer it picked (the first one met).
    remote: Option<String>,
    connection: Option<transport::Connection>,
}

impl Rogue<'_> {
    async fn on_signal(&mut self, event: Event, link_tx: &mpsc::UnboundedSender<LinkEvent>) -> Result<()> {
        match event {
            Event::Joined { room, me, peers, .. } if room == self.room => {
                self.envelopes = Some(Envelopes::new(&self.link.key, self.room, &me));
                self.me = Some(me);
                if let Some(first) = peers.first() {
                    self.meet(first, link_tx).await?;
                }
            }
            Event::PeerJoined { room, peer } if room == self.room => self.meet(&peer, link_tx).await?,
            Event::Signal { room, from, data } if room == self.room => {
                if self.remote.as_ref().is_some_and(|r| *r != from) {
                    return Ok(());
                }
                let Some(envelopes) = self.envelopes.as_mut() else { return Ok(()) };
                let Ok(opened) = envelopes.open(&from, &data, peer::clock::now_ms()) else { return Ok(()) };
                match opened.signal {
                    Signal::Offer { sdp } if self.connection.is_none() => {
                        self.remote = Some(from.clone());
                        let mut connection = transport::connect(&transport::Options::default(), true).await?;
                        let answer = connection.answer(sdp, link_tx.clone()).await?;
                        self.seal_to(&from, Signal::Answer { sdp: answer });
                        self.connection = Some(connection);
                    }
                    Signal::Answer { sdp } => {
                        let connection = self.connection.as_ref().context("an answer to no offer")?;
                        connection.accept_answer(sdp).await?;
                    }
                    _ => {}
                }
            }
            Event::Refused { message, .. } => bail!("the signaling server refused the rogue peer: {message}"),
            _ => {}
        }
        Ok(())
    }

    /// Picks `peer` if none is picked yet, and offers when it is the side
    /// that offers (the smaller signaling id, as every peer does).
    async fn meet(&mut self, peer: &str, link_tx: &mpsc::UnboundedSender<LinkEvent>) -> Result<()> {
        if self.remote.is_some() {
            return Ok(());
        }
        self.remote = Some(peer.to_owned());
        let offers = self.me.as_deref().is_some_and(|me| me < peer);
        if offers {
            let mut connection = transport::connect(&transport::Options::default(), false).await?;
            let offer = connection.offer(link_tx.clone()).await?;
            self.seal_to(peer, Signal::Offer { sdp: offer });
            self.connection = Some(connection);
        }
        Ok(())
    }

    fn seal_to(&mut self, to: &str, signal: Signal) {
        if let Some(envelopes) = self.envelopes.as_mut() {
            let mut nonce = [0u8; 24];
            peer::random::fill(&mut nonce);
            let sealed = envelopes.seal(Some(to), signal, nonce, peer::clock::now_ms());
            self.signal.signal(self.room, Some(to), sealed);
        }
    }
}

/// Bytes that are no Corkboard frame at all.
pub fn garbage() -> Vec<u8> {
    b"\x00\xffGET / HTTP/1.1\r\nthis is not a frame".to_vec()
}

/// A well-formed frame (a goodbye) stamped with the protocol version after
/// this build's: what a peer running a newer Corkboard would send.
pub fn frame_from_the_future() -> Vec<u8> {
    let mut frame = Message::Bye { reason: "hello from the future".into() }
        .encode(board_model::protocol::DEFAULT_MAX_FRAME_SIZE)
        .into_iter()
        .next()
        .unwrap_or_default();
    if let Some(version) = frame.get_mut(2) {
        *version = board_model::protocol::PROTOCOL_VERSION + 1;
    }
    frame
}
