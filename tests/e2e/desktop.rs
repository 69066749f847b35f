//! The desktop app (`corkboard-desktop`) under Xvfb, driven through
//! tauri-driver: it shares a board with a browser and `corkboard-peer
//! serve`, keeps an offline edit across a quit and a restart and hands it
//! to a peer once one is online, reopens cleanly after being killed
//! while it was saving a stream of edits, exports through its shell, and
//! scrubs through a board's history to restore one card from Monday.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use corkboard_e2e::desktop::Desktop;
use corkboard_e2e::harness::{self, Browser, NativePeer, Signaling};
use corkboard_e2e::{action, check, find};
use fantoccini::Client;
use fantoccini::key::Key;
use serde_json::{Value, json};

use crate::support;

/// Whether `shown` (from `show --json`) has a note `id` with `text`.
fn has_note(shown: &Value, id: &str, text: &str) -> bool {
    notes_of(shown).get(id).is_some_and(|t| t == text)
}

/// The notes in `show --json` output: id → text.
fn notes_of(shown: &Value) -> BTreeMap<String, String> {
    shown["cards"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|card| card["kind"] == "note")
        .filter_map(|card| Some((card["id"].as_str()?.to_owned(), card["text"].as_str()?.to_owned())))
        .collect()
}

/// `corkboard-peer show --json` on the desktop app's own data directory
/// (it reads without taking the board's lock, so it works while the app
/// runs and after it died).
fn show_on_disk(data: &Path, link: &str) -> Result<Value> {
    NativePeer::with_data(data)?.show(link)
}

/// Waits until the status names at least `peers` connected peers.
async fn peers_at_least(client: &Client, peers: usize) -> Result<()> {
    check::on_page(client, format!("at least {peers} connected peers in the status"), || async {
        let text = client.find(find::css(find::STATUS)).await?.text().await?;
        let most = text
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|run| run.parse::<usize>().ok())
            .max()
            .unwrap_or(0);
        ensure!(most >= peers, "status says {text:?}");
        Ok(())
    })
    .await
}

/// The board's `corkboard://` link, as the share menu gives it.
async fn share_app_link(client: &Client) -> Result<String> {
    action::click(client, r#"[data-testid="share"]"#).await?;
    let link = check::on_page(client, "a corkboard:// link in the share menu", || async {
        let input = client.find(find::css(r#"[data-testid="share-app-link"]"#)).await?;
        let value = input.prop("value").await?.unwrap_or_default();
        ensure!(
            value.starts_with("corkboard://") && value.contains("key="),
            "the share menu shows {value:?}"
        );
        Ok(value)
    })
    .await?;
    action::press(client, Key::Escape).await?;
    Ok(link)
}

/// Waits until the board's title in the title bar is `title` and the
/// window's title says it too. (Read from the DOM: WebKitWebDriver calls the
/// ellipsised title button hidden and gives it no text.)
async fn title_is(desktop: &Desktop, title: &str) -> Result<()> {
    let script = "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;";
    check::on_page(desktop.client(), format!("the title {title:?}"), || async {
        let shown = desktop.client().execute(script, vec![json!(find::TITLE)]).await?;
        ensure!(shown == json!(title), "the title bar says {shown}");
        let window = desktop.window_title()?;
        ensure!(window == format!("{title} — Corkboard"), "the window is called {window:?}");
        Ok(())
    })
    .await
}

/// Selects card `id` and gives it preset colour `digit` (1–6) from the keyboard.
async fn colour(client: &Client, id: &str, digit: char) -> Result<()> {
    action::click(client, &find::card(id)).await?;
    action::chord(client, &[], digit).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop_browser_and_native_peer_share_a_board() -> Result<()> {
    let signaling = Signaling::start()?;
    let native = NativePeer::new("desktop-share")?;
    let link = native.new_board("Launch party")?;
    let _serve = native.spawn_serve(&signaling.url(), &[])?;

    // The app, started with the board's link as its argument, opens it.
    let data = harness::temp_dir("desktop-data")?;
    let desktop = Desktop::start(&data, &signaling.url(), &[&link]).await?;
    let d = desktop.client();
    title_is(&desktop, "Launch party").await?;
    peers_at_least(d, 1).await?;

    let browser = Browser::start().await?;
    let b = browser.client();
    browser.open(&signaling.board_url(&link)?).await?;
    check::peers(b, 2).await?;
    check::peers(d, 2).await?;

    // Desktop → browser and native peer.
    let from_desktop = support::add_note(d, 170.0, 64.0, "Typed in the desktop app").await?;
    support::click_empty(d, 1100.0, 560.0).await?;
    check::value_is(b, &find::note_text(&from_desktop), "Typed in the desktop app").await?;
    check::native(&native, &link, "the native peer has the desktop's note", |shown| {
        has_note(shown, &from_desktop, "Typed in the desktop app")
    })
    .await?;

    // Browser → desktop: a note, and more text in the desktop's note.
    let from_browser = support::add_note(b, 450.0, 64.0, "Typed in a browser").await?;
    support::click_empty(b, 1100.0, 560.0).await?;
    support::type_in_note(b, &from_desktop, Key::End, ", edited in a browser").await?;
    support::click_empty(b, 1100.0, 560.0).await?;
    let edited = "Typed in the desktop app, edited in a browser";
    check::value_is(d, &find::note_text(&from_browser), "Typed in a browser").await?;
    check::value_is(d, &find::note_text(&from_desktop), edited).await?;

    // The desktop page (no network of its own) is told who else is here and
    // where: the browser user and the native peer in its people list, the
    // browser's cursor on its board.
    check::count(d, find::PERSON, 3).await?;
    // …with how its node's packets reach each of them (all on this
    // machine: directly, between host addresses).
    check::on_page(d, "two people reached directly", || async {
        let mut seen = Vec::new();
        for person in d.find_all(fantoccini::Locator::Css(r#"[data-testid="person"]"#)).await? {
            seen.push((person.attr("title").await?, person.attr("data-path").await?));
        }
        let direct = seen.iter().filter(|(_, path)| path.as_deref() == Some("direct")).count();
        ensure!(direct == 2, "the people list: {seen:?}");
        Ok(())
    })
    .await?;
    let board = check::element(b, find::BOARD).await?;
    action::click_at(b, &board, 900.0, 450.0).await?;
    check::element(d, r#"[data-testid="remote-cursor"]"#).await?;
    // And the other way: what the desktop user selects (relayed by its peer)
    // is outlined in the browser. (Its cursor goes too, but WebKitWebDriver
    // takes the pointer off the page right after each click.)
    action::click(d, &find::card(&from_desktop)).await?;
    check::element(b, &format!("{}.remote-selected", find::card(&from_desktop))).await?;
    support::click_empty(d, 1100.0, 560.0).await?;
    check::count(b, ".remote-selected", 0).await?;

    // Native peer → desktop, through serve's inbox while it holds the board.
    let from_native = native.add_note(&link, "Added in a terminal", 620.0, 40.0)?;
    check::value_is(d, &find::note_text(&from_native), "Added in a terminal").await?;

    // Two more from the desktop, then colours from the keyboard (1–6 on a
    // selected card), which the browser sees.
    let venue = support::add_note(d, 170.0, 284.0, "Book the venue").await?;
    support::click_empty(d, 1100.0, 560.0).await?;
    let poster = support::add_note(d, 450.0, 284.0, "Sketch the poster").await?;
    support::click_empty(d, 1100.0, 560.0).await?;
    for (id, digit) in
        [(&from_desktop, '1'), (&from_browser, '4'), (&from_native, '5'), (&venue, '3'), (&poster, '6')]
    {
        colour(d, id, digit).await?;
    }
    support::click_empty(d, 1100.0, 560.0).await?;
    for id in [&from_desktop, &from_browser, &from_native, &venue, &poster] {
        let look = support::card_look(d, id).await?;
        ensure!(!look["bg"].is_null(), "card {id} has no colour in the desktop app: {look}");
        support::card_looks(b, id, &look).await?;
    }

    // All three hold the same notes.
    let expected: BTreeMap<String, String> = [
        (from_desktop.clone(), edited),
        (from_browser.clone(), "Typed in a browser"),
        (from_native.clone(), "Added in a terminal"),
        (venue.clone(), "Book the venue"),
        (poster.clone(), "Sketch the poster"),
    ]
    .into_iter()
    .map(|(id, text)| (id, text.to_owned()))
    .collect();
    support::notes_are(d, &expected).await?;
    support::notes_are(b, &expected).await?;
    check::native(&native, &link, "the native peer has every note", |shown| notes_of(shown) == expected)
        .await?;
    peers_at_least(d, 2).await?;
    desktop.shot("desktop-board").await?;

    desktop.quit().await?;
    check::peers(b, 1).await?;
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop_offline_restart() -> Result<()> {
    // Nobody listens here until the end.
    let port = harness::free_port()?;
    let signal = format!("http://127.0.0.1:{port}");
    let data = harness::temp_dir("desktop-data")?;
    let text = "Written offline, kept across a restart";

    // A board and a note, offline, then Ctrl+Q.
    let desktop = Desktop::start(&data, &signal, &[]).await?;
    let d = desktop.client();
    action::click(d, find::NEW_BOARD).await?;
    check::element(d, find::BOARD).await?;
    let note = support::add_note(d, 240.0, 160.0, text).await?;
    support::click_empty(d, 900.0, 500.0).await?;
    let link = share_app_link(d).await?;
    desktop.quit().await?;

    // Started again, still offline: the board is on the home screen, and
    // opening it shows the note.
    let desktop = Desktop::start(&data, &signal, &[]).await?;
    let d = desktop.client();
    check::count(d, find::BOARD_ROW, 1).await?;
    check::eventually("the home screen's window title", || async {
        let window = desktop.window_title()?;
        ensure!(window == "Corkboard", "the window is called {window:?}");
        Ok(())
    })
    .await?;
    action::click(d, find::BOARD_ROW).await?;
    title_is(&desktop, "Untitled board").await?;
    check::element(d, find::BOARD).await?;
    check::value_is(d, &find::note_text(&note), text).await?;
    check::count(d, find::NOTE, 1).await?;
    let toasts = support::toasts(d).await?;
    ensure!(toasts.is_empty(), "the restarted app says: {toasts:?}");
    desktop.shot("desktop-offline-restart").await?;

    // A signaling server comes up where the app looks, and a peer that has
    // never seen the board joins it with the link: it receives the note.
    let signaling = Signaling::start_on(&format!("127.0.0.1:{port}"), None)?;
    let peer = NativePeer::new("desktop-joiner")?;
    let synced = peer.sync(&signaling.url(), &link, check::deadline() * 6)?;
    ensure!(synced.success, "sync failed:\n{}\n{}", synced.stdout, synced.stderr);
    let shown = peer.show(&link)?;
    ensure!(has_note(&shown, &note, text), "the peer that joined shows {shown}");
    desktop.quit().await
}

/// How many notes the app is asked to type before it is killed.
const NOTES: usize = 20;
/// The app is killed once this many notes are on its disk.
const KILL_AFTER: usize = 8;

/// The text of the `n`th note the app is killed while typing.
fn typed(n: usize) -> String {
    format!("Note {n:02}: every keystroke is a change the app must keep")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop_killed_while_saving_reopens_cleanly() -> Result<()> {
    let signal = format!("http://127.0.0.1:{}", harness::free_port()?);
    let data = harness::temp_dir("desktop-data")?;
    let desktop = Desktop::start(&data, &signal, &[]).await?;
    let d = desktop.client().clone();
    action::click(&d, find::NEW_BOARD).await?;
    check::element(&d, find::BOARD).await?;
    let link = share_app_link(&d).await?;

    // A stream of notes from the keyboard: N (a new note in the middle of the
    // view, its text focused), the text, Escape.
    let typist = tokio::spawn(async move {
        for n in 0..NOTES {
            let before = support::note_ids(&d).await?;
            action::chord(&d, &[], 'n').await?;
            let id = check::eventually(format!("note {n}"), || async {
                let now = support::note_ids(&d).await?;
                now.into_iter().find(|id| !before.contains(id)).context("no new note yet")
            })
            .await?;
            check::focused(&d, &find::note_text(&id)).await?;
            action::type_text(&d, &typed(n)).await?;
            action::press(&d, Key::Escape).await?;
        }
        anyhow::Ok(())
    });

    // Killed in mid-stream, once some notes are on disk (a typist that
    // stops early fails the test with its own reason).
    let mut typist = typist;
    let data_dir = data.clone();
    let on_disk = check::eventually_within(
        check::deadline() * 6,
        format!("{KILL_AFTER} notes on the app's disk"),
        || {
            let (data, link) = (data_dir.clone(), link.clone());
            async move {
                let shown = tokio::task::spawn_blocking(move || show_on_disk(&data, &link)).await??;
                let count = notes_of(&shown).len();
                ensure!(count >= KILL_AFTER, "{count} so far");
                Ok(count)
            }
        },
    );
    let on_disk = tokio::select! {
        on_disk = on_disk => on_disk?,
        typed = &mut typist => {
            typed?.context("the typist stopped before the kill")?;
            bail!("all {NOTES} notes were typed before {KILL_AFTER} were on disk");
        }
    };
    // The typist is still at work when the app dies, as it should be. Its
    // WebDriver call in flight dies with the app, so it is stopped rather
    // than awaited.
    ensure!(
        !typist.is_finished(),
        "all {NOTES} notes were typed before the kill ({on_disk} were on disk when it was ordered)"
    );
    typist.abort();
    desktop.kill().await?;

    // What the app had saved (read with the app dead, so nothing changes it
    // afterwards).
    let saved = notes_of(&show_on_disk(&data, &link)?);
    ensure!(saved.len() >= KILL_AFTER, "only {} notes survived on disk: {saved:?}", saved.len());
    // Each is what was typed, or the beginning of it: nothing garbled.
    for text in saved.values() {
        ensure!((0..NOTES).any(|n| typed(n).starts_with(text.as_str())), "a note on disk reads {text:?}");
    }
    let whole = saved.values().filter(|text| (0..NOTES).any(|n| **text == typed(n))).count();
    eprintln!("killed with {} notes on disk, {whole} of them typed to the end", saved.len());

    // Restarted: the board opens with exactly what was saved, and no error.
    let desktop = Desktop::start(&data, &signal, &[&link]).await?;
    let d = desktop.client();
    check::element(d, find::BOARD).await?;
    support::notes_are(d, &saved).await?;
    let toasts = support::toasts(d).await?;
    ensure!(toasts.is_empty(), "the restarted app says: {toasts:?}");

    // And it keeps working: one more note reaches the disk.
    let after = support::add_note(d, 80.0, 80.0, "Written after the crash").await?;
    support::click_empty(d, 1100.0, 560.0).await?;
    let disk = NativePeer::with_data(&data)?;
    check::native(&disk, &link, "the new note on disk", |shown| {
        has_note(shown, &after, "Written after the crash")
    })
    .await?;
    desktop.quit().await?;
    let shown = show_on_disk(&data, &link)?;
    ensure!(notes_of(&shown).len() == saved.len() + 1, "after a clean quit the disk holds {shown}");
    Ok(())
}

/// Whether a datagram is a STUN Binding request (RFC 5389: type 0x0001, magic cookie).
fn is_stun_binding_request(datagram: &[u8]) -> bool {
    datagram.len() >= 20 && datagram[..2] == [0x00, 0x01] && datagram[4..8] == [0x21, 0x12, 0xa4, 0x42]
}

/// A STUN server's answer to a Binding request from `from`: a Binding
/// success response with the sender's address as XOR-MAPPED-ADDRESS.
fn stun_binding_response(request: &[u8], from: std::net::SocketAddr) -> Option<Vec<u8>> {
    let std::net::SocketAddr::V4(from) = from else { return None };
    let mut response = vec![0x01, 0x01, 0x00, 0x0c];
    response.extend_from_slice(&request[4..20]); // magic cookie and transaction id
    response.extend_from_slice(&[0x00, 0x20, 0x00, 0x08, 0x00, 0x01]);
    response.extend_from_slice(&(from.port() ^ 0x2112).to_be_bytes());
    let ip = u32::from(*from.ip()) ^ 0x2112_a442;
    response.extend_from_slice(&ip.to_be_bytes());
    Some(response)
}

/// The STUN server set in the desktop's profile menu reaches its embedded
/// node: the next connection the node makes asks that server for this
/// machine's address (a Binding request on a UDP socket the test answers
/// as a STUN server does), and the connection opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop_stun_setting_reaches_the_embedded_node() -> Result<()> {
    let signaling = Signaling::start()?;
    let native = NativePeer::new("desktop-stun")?;
    let link = native.new_board("Through a STUN server")?;
    let _serve = native.spawn_serve(&signaling.url(), &[])?;
    let stun = std::net::UdpSocket::bind("127.0.0.1:0").context("a UDP socket for the STUN server")?;
    let stun_url = format!("stun:{}", stun.local_addr()?);

    let data = harness::temp_dir("desktop-data")?;
    let desktop = Desktop::start(&data, &signaling.url(), &[&link]).await?;
    let d = desktop.client();
    title_is(&desktop, "Through a STUN server").await?;
    peers_at_least(d, 1).await?;

    action::click(d, r#"[data-testid="profile"]"#).await?;
    let servers = check::element(d, r#"[data-testid="profile-ice"]"#).await?;
    servers.clear().await?;
    servers.send_keys(&stun_url).await?;
    action::click(d, r#"[data-testid="profile-save"]"#).await?;

    // A browser joins: the node builds a new connection, with the server.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = done.clone();
    let listener = tokio::task::spawn_blocking(move || -> Result<bool> {
        stun.set_read_timeout(Some(std::time::Duration::from_millis(100)))?;
        let until = std::time::Instant::now() + check::deadline() * 3;
        let mut datagram = [0u8; 1500];
        let mut asked = false;
        // Answers every request until the test is over (a connection asks more than once).
        while std::time::Instant::now() < until && !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok((len, from)) = stun.recv_from(&mut datagram)
                && is_stun_binding_request(&datagram[..len])
            {
                asked = true;
                if let Some(response) = stun_binding_response(&datagram[..len], from) {
                    let _ = stun.send_to(&response, from);
                }
            }
        }
        Ok(asked)
    });
    let browser = Browser::start().await?;
    let b = browser.client();
    browser.open(&signaling.board_url(&link)?).await?;
    check::peers(b, 2).await?;
    browser.close().await?;
    desktop.quit().await?;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    ensure!(listener.await??, "no STUN Binding request reached {stun_url} from the desktop app");
    Ok(())
}

/// The File menu in the desktop app: a PNG made by the file worker inside
/// WebKitGTK, and a backup, saved through the shell's `save_file` (to
/// `CORKBOARD_SAVE_DIR`: the native dialog is not for WebDriver).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop_exports_a_png_and_a_backup_through_its_shell() -> Result<()> {
    let port = harness::free_port()?;
    let data = harness::temp_dir("desktop-export")?;
    std::fs::create_dir_all(data.join("saved"))?;
    let desktop = Desktop::start(&data, &format!("http://127.0.0.1:{port}"), &[]).await?;
    let d = desktop.client();
    action::click(d, find::NEW_BOARD).await?;
    check::element(d, find::BOARD).await?;
    support::add_note(d, 240.0, 160.0, "Exported from the desktop").await?;
    support::click_empty(d, 900.0, 500.0).await?;
    action::click(d, r#"[data-testid="file"]"#).await?;
    action::click(d, r#"[data-testid="export-png"]"#).await?;
    let png = desktop.saved("Untitled board.png").await?;
    ensure!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG: {} bytes", png.len());
    action::click(d, r#"[data-testid="file"]"#).await?;
    action::click(d, r#"[data-testid="export-backup"]"#).await?;
    let backup = desktop.saved("Untitled board.corkboard").await?;
    let restored = board_archive::backup::read(&backup, board_model::ReplicaId(3))?;
    ensure!(restored.board.card_count() == 1, "the backup holds {} cards", restored.board.card_count());
    support::toast(d, "Saved").await?;
    desktop.quit().await
}

/// Monday 2026-11-30, 09:00 UTC, in ms.
const MONDAY: i64 = 1_796_029_200_000;

/// History on the desktop: a board worked on on Monday and changed on
/// Wednesday (written into the app's data directory as its native node
/// writes boards). The app scrubs back to Monday's session, where the note
/// deleted on Wednesday is drawn again, selects it, and restores just that
/// card: it comes back as it was, the rest stays as on Wednesday, on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop_scrubs_back_to_monday_and_restores_one_card() -> Result<()> {
    use board_model::{Board, BoardId, CardId, Content, NewCard, Point, ReplicaId};
    let data = harness::temp_dir("desktop-history")?;
    let note = |n: u8, text: &str, x: f64| NewCard {
        id: CardId::from_random_bytes([n; 16]),
        position: Point { x, y: 120.0 },
        size: None,
        color: None,
        content: Content::Note { text: text.into() },
        created_by: "Ann".into(),
        created_at: MONDAY,
    };
    let (plan, budget, idea) = (
        note(1, "Monday's plan", 120.0),
        note(2, "Keep the budget", 420.0),
        note(3, "Wednesday's idea", 720.0),
    );
    let ids = [plan.id, budget.id, idea.id].map(|id| id.to_string());
    let mut key = [0u8; 32];
    peer::random::fill(&mut key);
    let link =
        board_key::link::ShareLink { board: uuid::Uuid::from_bytes([4; 16]), key: board_key::BoardKey(key) };
    let mut board = Board::create_at(BoardId(link.board), "Week plan", ReplicaId(11), MONDAY, "Ann")?;
    board.add_cards(vec![plan.clone(), budget.clone()])?;
    board.set_clock(MONDAY + 48 * 3_600_000);
    board.move_cards(&[(plan.id, Point { x: 160.0, y: 300.0 })])?;
    board.delete_cards(&[budget.id])?;
    board.add_card(idea)?;
    peer::storage::DataDir::open(&data)?.create(&link, &board)?;

    let port = harness::free_port()?;
    let desktop = Desktop::start(&data, &format!("http://127.0.0.1:{port}"), &[]).await?;
    let d = desktop.client();
    action::click(d, find::BOARD_ROW).await?;
    title_is(&desktop, "Week plan").await?;
    check::count(d, find::NOTE, 2).await?;

    // Back to Monday: the sessions are listed newest first.
    action::click(d, r#"[data-testid="file"]"#).await?;
    action::click(d, r#"[data-testid="open-history"]"#).await?;
    check::element(d, r#"[data-testid="history"]"#).await?;
    let sessions = check::count(d, r#"[data-testid="history-session"]"#, 2).await?;
    desktop.shot("desktop-history-open").await?;
    let monday = sessions[1].text().await?;
    ensure!(monday.contains("Ann"), "Monday's session says {monday:?}");
    sessions[1].click().await?;
    check::value_is(d, &find::note_text(&ids[1]), "Keep the budget")
        .await
        .context("Monday shows the budget")?;
    check::absent(d, &find::card(&ids[2])).await.context("Wednesday's note is not there on Monday")?;
    check::element(d, r#"[data-testid="history-banner"]"#).await?;
    desktop.shot("desktop-history-monday").await?;

    // Just that card comes back.
    let card = check::element(d, &find::card(&ids[1])).await?;
    action::click_at(d, &card, 20.0, 8.0).await?;
    action::click(d, r#"[data-testid="history-restore-cards"]:not([disabled])"#).await?;
    check::absent(d, r#"[data-testid="history"]"#).await?;
    check::count(d, find::NOTE, 3).await?;
    check::value_is(d, &find::note_text(&ids[1]), "Keep the budget").await?;
    check::value_is(d, &find::note_text(&ids[2]), "Wednesday's idea").await?;
    support::toast(d, "Restored 1 card").await?;
    desktop.shot("desktop-history-restored").await?;
    check::eventually("the restored card on disk", || async {
        let shown = show_on_disk(&data, &link.to_app_link())?;
        ensure!(notes_of(&shown).len() == 3, "on disk: {shown}");
        ensure!(has_note(&shown, &ids[1], "Keep the budget"), "on disk: {shown}");
        let plan = shown["cards"].as_array().into_iter().flatten().find(|c| c["id"] == json!(ids[0]));
        ensure!(
            plan.is_some_and(|c| c["x"] == json!(160.0)),
            "the plan stays where Wednesday put it: {plan:?}"
        );
        Ok(())
    })
    .await?;
    desktop.quit().await
}
