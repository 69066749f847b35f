//! The home screen: a new board, and a first note made by double-clicking
//! the board and typing.

use anyhow::Result;
use corkboard_e2e::harness::{self, Browser, Signaling};
use corkboard_e2e::{action, check, find};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_board_then_double_click_makes_a_note() -> Result<()> {
    let dir = harness::temp_dir("home")?;
    let signaling = Signaling::start()?;
    let browser = Browser::start().await?;
    let client = browser.client();
    browser.open(&signaling.url()).await?;

    action::click(client, find::NEW_BOARD).await?;
    let board = check::element(client, find::BOARD).await?;
    // Empty space: a fresh board has no cards.
    action::double_click(client, &board, 160.0, 140.0).await?;
    check::focused(client, find::NOTE_TEXT).await?;
    action::type_text(client, "hello from e2e").await?;
    check::value_is(client, find::NOTE_TEXT, "hello from e2e").await?;
    check::count(client, find::NOTE, 1).await?;

    browser.screenshot(&dir.join("home.png")).await?;
    browser.shot("home-first-note").await?;
    browser.close().await
}

/// The profile menu takes a TURN username and credential and "relay only",
/// keeps them across a reload, and fits a phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profile_menu_keeps_turn_credentials_and_relay_only() -> Result<()> {
    let signaling = Signaling::start()?;
    let browser = Browser::start().await?;
    let client = browser.client();
    browser.open(&signaling.url()).await?;
    action::click(client, find::NEW_BOARD).await?;
    check::element(client, find::BOARD).await?;
    let open_menu = || async {
        action::click(client, r#"[data-testid="profile"]"#).await?;
        check::element(client, r#"[data-testid="profile-turn-username"]"#).await
    };
    open_menu().await?;
    action::type_into(client, r#"[data-testid="profile-ice"]"#, "turn:turn.example.org:3478").await?;
    action::type_into(client, r#"[data-testid="profile-turn-username"]"#, "ann").await?;
    action::type_into(client, r#"[data-testid="profile-turn-credential"]"#, "s3cret").await?;
    action::click(client, r#"[data-testid="profile-relay-only"]"#).await?;
    browser.shot("profile-menu-turn").await?;
    action::click(client, r#"[data-testid="profile-save"]"#).await?;

    client.refresh().await?;
    check::element(client, find::BOARD).await?;
    open_menu().await?;
    check::value_is(client, r#"[data-testid="profile-turn-username"]"#, "ann").await?;
    check::value_is(client, r#"[data-testid="profile-turn-credential"]"#, "s3cret").await?;
    let relay_only = client
        .execute(r#"return document.querySelector('[data-testid="profile-relay-only"]').checked"#, vec![])
        .await?;
    anyhow::ensure!(relay_only == serde_json::json!(true), "relay only was not kept: {relay_only}");
    // A phone-size window: the menu fits.
    client.set_window_size(390, 844).await?;
    browser.shot("profile-menu-phone").await?;
    let overflow = client
        .execute(
            r#"const r = document.querySelector('.profile-menu').getBoundingClientRect();
               return r.left >= 0 && r.right <= window.innerWidth;"#,
            vec![],
        )
        .await?;
    anyhow::ensure!(overflow == serde_json::json!(true), "the profile menu overflows a phone's width");
    browser.close().await
}
