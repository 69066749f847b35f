//! The desktop app as a user gets it: the Debian package (`./x package`
//! builds one from a release build; `./x test` builds one from the test
//! build and names it in `$CORKBOARD_DEB`) installed with apt on this
//! machine; its menu entry makes it the `corkboard://` handler; a share
//! link opened the way the desktop opens links (`xdg-open`) starts the
//! installed app on an X display (Xvfb), which opens the board, joins its
//! room and keeps what a native peer serves. The package is removed again
//! afterwards unless it was installed before. Needs root (apt); skipped,
//! saying so, otherwise or without a package.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};
use corkboard_e2e::check;
use corkboard_e2e::desktop::{IMPORT, XDOTOOL, Xvfb};
use corkboard_e2e::harness::{self, NativePeer, Process, Signaling};

/// Where the package puts the app.
const INSTALLED_APP: &str = "/usr/bin/corkboard-desktop";
/// The package's name (src-tauri/Cargo.toml, `[package.metadata.deb]`).
const PACKAGE: &str = "corkboard";

/// The package to test, or why this test cannot run here.
fn package() -> std::result::Result<PathBuf, String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Err("installing a package needs root".into());
    }
    let deb = std::env::var_os("CORKBOARD_DEB")
        .ok_or("CORKBOARD_DEB names no package (./x test builds one and sets it)")?;
    Ok(PathBuf::from(deb))
}

/// Runs a command to completion; its stdout, or a failure with its output.
fn run(program: &str, args: &[&str], envs: &[(&str, &Path)]) -> Result<String> {
    let output = Command::new(program)
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, *v)))
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .with_context(|| format!("cannot run {program}"))?;
    ensure!(
        output.status.success(),
        "{program} {args:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn installed() -> bool {
    run("dpkg-query", &["-W", "-f=${Status}", PACKAGE], &[])
        .is_ok_and(|status| status.contains("ok installed"))
}

/// Removes the package on drop, unless it was there before the test.
struct Installed {
    was_there: bool,
}

impl Drop for Installed {
    fn drop(&mut self) {
        if !self.was_there
            && let Err(error) = run("apt-get", &["remove", "-y", "-q", PACKAGE], &[])
        {
            eprintln!("could not remove the test's {PACKAGE} package: {error:#}");
        }
    }
}

/// The processes running the installed app with `data` as their data
/// directory.
fn installed_app_processes(data: &Path) -> Vec<u32> {
    let wanted = format!("CORKBOARD_DATA_DIR={}", data.display()).into_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let exe = std::fs::read_link(entry.path().join("exe")).ok()?;
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            (exe == Path::new(INSTALLED_APP) && environ.split(|b| *b == 0).any(|var| var == wanted))
                .then_some(pid)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_installed_package_opens_corkboard_links() -> Result<()> {
    let deb = match package() {
        Ok(deb) => deb,
        Err(why) => {
            eprintln!("SKIPPED the_installed_package_opens_corkboard_links: {why}");
            return Ok(());
        }
    };
    let deb = deb.canonicalize().with_context(|| format!("no package at {}", deb.display()))?;
    let _installed = Installed { was_there: installed() };
    let deb_arg = deb.to_str().context("the package's path is not UTF-8")?;
    run("apt-get", &["install", "-y", "-q", "--reinstall", deb_arg], &[])?;

    // What the package put in place.
    let files = run("dpkg", &["-L", PACKAGE], &[])?;
    for path in [INSTALLED_APP, "/usr/share/applications/corkboard.desktop"] {
        ensure!(files.lines().any(|line| line == path), "the package does not install {path}:\n{files}");
    }
    // A user of their own (a fresh home), so only what the package
    // registered decides who opens corkboard:// links.
    let home = harness::temp_dir("package-home")?;
    let user: [(&str, &Path); 4] = [
        ("HOME", &home),
        ("XDG_CONFIG_HOME", &home.join(".config")),
        ("XDG_DATA_HOME", &home.join(".local/share")),
        ("XDG_CACHE_HOME", &home.join(".cache")),
    ];
    let handler = run("xdg-mime", &["query", "default", "x-scheme-handler/corkboard"], &user)?;
    ensure!(handler.trim() == "corkboard.desktop", "corkboard:// links open with {handler:?}");

    // A board a native peer serves, opened through the desktop's link handling.
    let signaling = Signaling::start()?;
    let native = NativePeer::new("package-native")?;
    let link = native.new_board("Installed")?;
    let note = native.add_note(&link, "Served to the installed app", 120.0, 80.0)?;
    let _serve = native.spawn_serve(&signaling.url(), &[])?;
    let dir = harness::temp_dir("package-app")?;
    let data = dir.join("data");
    std::fs::create_dir_all(&data)?;
    let xvfb = Xvfb::start(&dir)?;
    let mut command = Command::new("xdg-open");
    command
        .arg(&link)
        .envs(user)
        .env("DISPLAY", xvfb.display())
        .env("GDK_BACKEND", "x11")
        .env("NO_AT_BRIDGE", "1")
        .env_remove("WAYLAND_DISPLAY")
        .env("CORKBOARD_DATA_DIR", &data)
        .env("CORKBOARD_SIGNAL", signaling.url())
        .env_remove("WEBKIT_DISABLE_DMABUF_RENDERER");
    // xdg-open waits for the app it starts; both die with the group.
    let mut opener = Process::spawn_logged("xdg-open", command, &dir.join("app.log"), true)?;

    let on_disk = NativePeer::with_data(&data)?;
    let kept = check::native(&on_disk, &link, "the installed app keeps the served board", |shown| {
        shown["title"] == "Installed"
            && shown["cards"]
                .as_array()
                .is_some_and(|cards| cards.iter().any(|card| card["id"] == note.as_str()))
    })
    .await;
    if let Err(error) = kept {
        let _ = opener.ensure_running();
        return Err(error.context(format!("the app's log:\n{}", opener.log())));
    }
    let apps = installed_app_processes(&data);
    ensure!(!apps.is_empty(), "the board was opened, but not by {INSTALLED_APP}");
    // The page shows the board: its window is named after it.
    let display = xvfb.display();
    check::eventually("the installed app's window named after the board", || {
        let display = display.clone();
        async move {
            let found = Command::new(XDOTOOL)
                .args(["search", "--onlyvisible", "--name", "^Installed — Corkboard$"])
                .env("DISPLAY", &display)
                .output()
                .context("cannot run xdotool")?;
            ensure!(
                found.status.success() && !found.stdout.is_empty(),
                "no such window yet: {}",
                String::from_utf8_lossy(&found.stderr)
            );
            Ok(())
        }
    })
    .await?;
    // This machine has no GPU: the app turned WebKit's DMA-BUF renderer
    // off itself (else its window stays blank; see the screenshot).
    if !Path::new("/dev/dri").exists() {
        let environ = std::fs::read(format!("/proc/{}/environ", apps[0])).unwrap_or_default();
        ensure!(
            environ.split(|b| *b == 0).any(|var| var == b"WEBKIT_DISABLE_DMABUF_RENDERER=1"),
            "the app runs with WebKit's DMA-BUF renderer on a machine without a GPU (a blank window)"
        );
    }
    if let Some(shots) = std::env::var_os(harness::SHOTS_ENV).filter(|dir| !dir.is_empty()) {
        let shot = PathBuf::from(shots).join("installed-app.png");
        let grabbed = Command::new(IMPORT)
            .args(["-display", &xvfb.display(), "-window", "root"])
            .arg(&shot)
            .status()?;
        ensure!(grabbed.success(), "import could not grab the screen");
    }
    drop(opener);
    Ok(())
}
