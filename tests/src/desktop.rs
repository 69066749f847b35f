//! The desktop app (`corkboard-desktop`) under test: its own X display
//! (Xvfb), `tauri-driver` in front of WebKitGTK's `WebKitWebDriver`, and a
//! WebDriver session that starts the app with a data directory, a signaling
//! server and optional command-line arguments (a share link opens that
//! board). The page inside the window is the web app, so [`crate::find`],
//! [`crate::action`] and [`crate::check`] work on [`Desktop::client`] as on
//! a browser.
//!
//! Ending a WebDriver session SIGKILLs the app (WebKitWebDriver does that),
//! so [`Desktop::quit`] quits the way a user does instead: Ctrl+Q on the X
//! keyboard (`xdotool`), which the native menu's accelerator turns into a
//! normal exit (every board saved, byes sent). [`Desktop::kill`] is the
//! crash. Dropping a `Desktop` kills every process it started.
//!
//! Needs Xvfb, Debian's `webkit2gtk-driver`, `tauri-driver` (cargo),
//! `xdotool` and ImageMagick's `import`; `./x test` installs them all.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use fantoccini::Client;

use crate::harness::{self, Process};

/// Debian's X virtual framebuffer (`apt install xvfb`).
pub const XVFB: &str = "/usr/bin/Xvfb";
/// WebKitGTK's WebDriver (`apt install webkit2gtk-driver`).
pub const WEBKIT_WEBDRIVER: &str = "/usr/bin/WebKitWebDriver";
/// Real keyboard input on an X display (`apt install xdotool`).
pub const XDOTOOL: &str = "/usr/bin/xdotool";
/// ImageMagick's screen grabber (`apt install imagemagick`).
pub const IMPORT: &str = "/usr/bin/import";

/// The size of the virtual screen (the app's window is 1280×800 too).
const SCREEN: &str = "1280x800x24";
/// How long a process may take to start, or the app to quit or die.
/// Generous: a test fails because something never happens, not because the
/// machine is busy.
const PATIENCE: Duration = Duration::from_secs(60);
/// How often processes are polled.
const POLL: Duration = Duration::from_millis(50);
/// How often Ctrl+Q is pressed again while the app has not quit (a key
/// pressed before the window took the keyboard is lost).
const QUIT_AGAIN: Duration = Duration::from_secs(5);

/// `tauri-driver`: `$CORKBOARD_TAURI_DRIVER`, else on `PATH`, else in
/// `~/.cargo/bin` (where `cargo install tauri-driver` puts it).
pub fn tauri_driver() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CORKBOARD_TAURI_DRIVER").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|dir| dir.join("tauri-driver")).collect::<Vec<_>>())
        .unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    on_path.into_iter().chain(cargo_home.map(|home| home.join("bin/tauri-driver"))).find(|p| p.is_file())
}

/// The desktop binary: `$CORKBOARD_DESKTOP_BIN`, else
/// `<target>/debug/corkboard-desktop`. It embeds the web app when it is
/// built, so build it after `ui/dist`.
pub fn desktop_binary() -> Result<PathBuf> {
    harness::workspace_binary("CORKBOARD_DESKTOP_BIN", "corkboard-desktop", "corkboard-desktop")
}

/// Fails, saying how to install them, unless every tool the desktop tests
/// drive the app with is there.
pub fn require_desktop_tools() -> Result<PathBuf> {
    let mut missing: Vec<String> = [XVFB, WEBKIT_WEBDRIVER, XDOTOOL, IMPORT]
        .into_iter()
        .filter(|p| !Path::new(p).is_file())
        .map(String::from)
        .collect();
    let driver = tauri_driver();
    if driver.is_none() {
        missing.push("tauri-driver".into());
    }
    ensure!(
        missing.is_empty(),
        "the desktop tests need {} (missing): run `./x test`, which installs xvfb, webkit2gtk-driver, \
         xdotool and imagemagick with apt and tauri-driver with cargo",
        missing.join(", ")
    );
    driver.ok_or_else(|| anyhow!("no tauri-driver"))
}

// ----- the X display -----------------------------------------------------------------

/// An Xvfb server on a display number nobody else uses; killed on drop.
#[derive(Debug)]
pub struct Xvfb {
    /// Killed on drop.
    _process: Process,
    number: u32,
}

impl Xvfb {
    /// Starts Xvfb on a display number nobody else uses and waits until it
    /// accepts connections. Xvfb picks the number itself (`-displayfd`:
    /// it takes the first display whose lock it can create, atomically, and
    /// writes the number to its stdout), so tests starting displays at the
    /// same time never share one or remove each other's.
    pub fn start(dir: &Path) -> Result<Xvfb> {
        let mut command = Command::new(XVFB);
        command
            .args(["-displayfd", "1", "-screen", "0", SCREEN, "-nolisten", "tcp"])
            .stdout(std::process::Stdio::piped());
        let log = dir.join("xvfb.log");
        let mut process = Process::spawn("Xvfb", command, &log, false)?;
        let stdout = process.take_stdout().context("Xvfb's stdout was not piped")?;
        let mut line = String::new();
        // Xvfb writes the number once it listens, or exits (closing the pipe).
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .context("cannot read the display number from Xvfb")?;
        let number = line.trim().parse::<u32>().map_err(|_| {
            anyhow!("Xvfb did not name a display (it said {line:?}); its log:\n{}", process.log())
        })?;
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
        let start = Instant::now();
        while UnixStream::connect(&socket).is_err() {
            process.ensure_running()?;
            ensure!(
                start.elapsed() < PATIENCE,
                "Xvfb :{number} did not accept connections within {} s:\n{}",
                PATIENCE.as_secs(),
                process.log()
            );
            std::thread::sleep(POLL);
        }
        Ok(Xvfb { _process: process, number })
    }

    /// The `DISPLAY` value, `:N`.
    pub fn display(&self) -> String {
        format!(":{}", self.number)
    }
}

// ----- the app -----------------------------------------------------------------------

/// One desktop app at a time in a test run. WebKitWebDriver picks the port
/// its app's inspector server will listen on by binding port 0 and letting
/// it go, and then connects there; with two apps starting at once, one
/// driver can end up talking to the other's app, or to nothing (seen as
/// sessions dropped mid-request). Taken by [`Desktop::start`], held until the
/// `Desktop` is gone. Browser tests still run alongside.
static ONE_APP_AT_A_TIME: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// The desktop app running on its own display, driven over WebDriver.
#[derive(Debug)]
pub struct Desktop {
    client: Client,
    /// tauri-driver, leading a process group that holds WebKitWebDriver and
    /// the app (and its WebKit processes).
    driver: Process,
    xvfb: Xvfb,
    bin: PathBuf,
    data: PathBuf,
    dir: PathBuf,
    /// This app's turn (see [`ONE_APP_AT_A_TIME`]); dropped last.
    _turn: tokio::sync::SemaphorePermit<'static>,
}

impl Desktop {
    /// Starts the app with its data in `data` (`CORKBOARD_DATA_DIR`, which
    /// also keeps it from registering as the OS's link handler or insisting
    /// on a single instance), its peer using the signaling server at
    /// `signal` (`CORKBOARD_SIGNAL`), and `args` on its command line (a
    /// share link there opens that board).
    pub async fn start(data: &Path, signal: &str, args: &[&str]) -> Result<Desktop> {
        let tauri_driver = require_desktop_tools()?;
        let bin = desktop_binary()?;
        let turn = ONE_APP_AT_A_TIME.acquire().await.context("the desktop turn semaphore was closed")?;
        std::fs::create_dir_all(data).with_context(|| format!("cannot create {}", data.display()))?;
        let data = data.canonicalize()?;
        let dir = harness::temp_dir("desktop")?;
        let xvfb = Xvfb::start(&dir)?;

        let mut last = anyhow!("tauri-driver did not start");
        for attempt in 0..3 {
            let [port, native_port] = harness::free_ports()?;
            let mut command = Command::new(&tauri_driver);
            command
                .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
                .args(["--native-driver", WEBKIT_WEBDRIVER])
                .env("DISPLAY", xvfb.display())
                .env("GDK_BACKEND", "x11")
                .env("NO_AT_BRIDGE", "1")
                .env_remove("WAYLAND_DISPLAY")
                .env("CORKBOARD_DATA_DIR", &data)
                // The webview's own storage (localStorage: the profile and
                // STUN/TURN settings) lives with the test's data, not in the
                // user's real app data, and lasts across a restart.
                .env("XDG_DATA_HOME", data.join("webview-data"))
                .env("XDG_CACHE_HOME", data.join("webview-cache"))
                .env("CORKBOARD_SIGNAL", signal)
                // Exports are saved here without the native save dialog,
                // which WebDriver cannot drive.
                .env("CORKBOARD_SAVE_DIR", data.join("saved"));
            // The app inherits tauri-driver's output: its log is this log.
            let log = dir.join(format!("app-{attempt}.log"));
            let mut driver = Process::spawn_logged("tauri-driver", command, &log, true)?;
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            let ready = wait(&mut driver, "tauri-driver", || {
                let (status, body) = harness::http_get(addr, "/status")?;
                ensure!(
                    status == 200 && body.contains("\"ready\":true"),
                    "/status answered {status}: {body}"
                );
                Ok(())
            });
            if let Err(error) = ready {
                last = error;
                continue;
            }
            let capabilities = serde_json::json!({
                "browserName": "wry",
                "tauri:options": { "application": bin, "args": args },
            });
            // WebKitWebDriver sometimes loses the app it starts (it picks the
            // app's inspector port by binding port 0 and letting it go):
            // another attempt starts everything again.
            match harness::webdriver_session(port, capabilities).await {
                Ok(client) => return Ok(Desktop { client, driver, xvfb, bin, data, dir, _turn: turn }),
                Err(error) => {
                    last = anyhow!(
                        "tauri-driver could not start {}: {error}; log:\n{}",
                        bin.display(),
                        driver.log()
                    );
                }
            }
        }
        Err(last)
    }

    /// The WebDriver session on the app's page.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The app's data directory.
    /// A file the app exported (saved to `CORKBOARD_SAVE_DIR`), once it
    /// is there (a hang guard of a minute).
    pub async fn saved(&self, name: &str) -> Result<Vec<u8>> {
        let path = self.data_dir().join("saved").join(name);
        for _ in 0..600 {
            if let Ok(bytes) = std::fs::read(&path) {
                return Ok(bytes);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        anyhow::bail!("the app saved no {}", path.display())
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The app's X display, `:N`.
    pub fn display(&self) -> String {
        self.xvfb.display()
    }

    /// What the app (and tauri-driver) logged so far.
    pub fn log(&self) -> String {
        self.driver.log()
    }

    /// The app's process id (the app is the process in tauri-driver's group
    /// started from the desktop binary).
    pub fn app_pid(&self) -> Result<u32> {
        let bin = self.bin.to_string_lossy().into_owned();
        let found = harness::group_members(self.driver.id()).into_iter().find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .ok()
                .and_then(|cmdline| cmdline.split(|b| *b == 0).next().map(|argv0| argv0 == bin.as_bytes()))
                .unwrap_or(false)
        });
        found.ok_or_else(|| anyhow!("the app ({bin}) is not running; its log:\n{}", tail(&self.log())))
    }

    /// The title of the app's visible window, as the X server has it (what a
    /// window manager would show in the title bar and the task switcher).
    pub fn window_title(&self) -> Result<String> {
        let pid = self.app_pid()?.to_string();
        let xdotool = |args: &[&str]| -> Result<String> {
            let output = Command::new(XDOTOOL)
                .env("DISPLAY", self.display())
                .args(args)
                .output()
                .with_context(|| format!("cannot run {XDOTOOL}"))?;
            ensure!(
                output.status.success(),
                "xdotool {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            );
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        };
        let windows = xdotool(&["search", "--onlyvisible", "--pid", &pid])?;
        let window = windows.lines().next().ok_or_else(|| anyhow!("the app shows no window"))?;
        xdotool(&["getwindowname", window])
    }

    /// Saves what the user sees: the whole screen (window and native menu
    /// bar) at `path`, grabbed from the X display.
    pub fn screen(&self, path: &Path) -> Result<()> {
        let output = Command::new(IMPORT)
            .args(["-display", &self.display(), "-window", "root"])
            .arg(path)
            .output()
            .with_context(|| format!("cannot run {IMPORT}"))?;
        ensure!(
            output.status.success(),
            "import could not grab the screen: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(())
    }

    /// Saves the page (WebDriver's screenshot of the webview) at `path`.
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let png = self.client.screenshot().await.context("cannot take a screenshot")?;
        std::fs::write(path, png).with_context(|| format!("cannot write {}", path.display()))
    }

    /// If `$CORKBOARD_E2E_SHOTS` names a directory: saves the whole screen
    /// as `<name>.png` and the page as `<name>-page.png` there; the screen's
    /// path.
    pub async fn shot(&self, name: &str) -> Result<Option<PathBuf>> {
        let Some(dir) = std::env::var_os(harness::SHOTS_ENV).filter(|d| !d.is_empty()) else {
            return Ok(None);
        };
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let screen = dir.join(format!("{name}.png"));
        self.screen(&screen)?;
        self.screenshot(&dir.join(format!("{name}-page.png"))).await?;
        Ok(Some(screen))
    }

    /// Quits the app as a user does (Ctrl+Q, the File menu's Quit: the app
    /// saves every board and says goodbye to its peers), waits until it has
    /// exited, then stops the drivers and the display.
    pub async fn quit(self) -> Result<()> {
        let pid = self.app_pid()?;
        let display = self.display();
        let start = Instant::now();
        let mut pressed: Option<Instant> = None;
        while alive(pid) {
            ensure!(
                start.elapsed() < PATIENCE,
                "the app did not quit within {} s of Ctrl+Q; its log:\n{}",
                PATIENCE.as_secs(),
                tail(&self.log())
            );
            if pressed.is_none_or(|at| at.elapsed() > QUIT_AGAIN) {
                // No window manager: the keyboard goes to the window under
                // the pointer, which is the app's (it fills the screen).
                let output = Command::new(XDOTOOL)
                    .env("DISPLAY", &display)
                    .args(["mousemove", "640", "400", "key", "ctrl+q"])
                    .output()
                    .with_context(|| format!("cannot run {XDOTOOL}"))?;
                ensure!(
                    output.status.success(),
                    "xdotool failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                pressed = Some(Instant::now());
            }
            tokio::time::sleep(POLL).await;
        }
        let log = self.log();
        self.stop().await;
        ensure!(!log.contains("panicked"), "the app panicked; its log:\n{}", tail(&log));
        Ok(())
    }

    /// Kills the app with SIGKILL (a crash, a power cut for everything not
    /// yet on disk), waits until it is gone, then stops the drivers and the
    /// display.
    pub async fn kill(self) -> Result<()> {
        let pid = self.app_pid()?;
        let raw = i32::try_from(pid).context("a process id out of range")?;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), nix::sys::signal::SIGKILL)
            .with_context(|| format!("cannot kill the app ({pid})"))?;
        let start = Instant::now();
        while alive(pid) {
            ensure!(start.elapsed() < PATIENCE, "the app ({pid}) survived SIGKILL");
            tokio::time::sleep(POLL).await;
        }
        self.stop().await;
        Ok(())
    }

    /// Ends the WebDriver session (WebKitWebDriver kills whatever is left of
    /// the app) and the drivers; dropping does the rest.
    async fn stop(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.clone().close()).await;
        self.driver.kill();
    }

    /// Where this app's logs are.
    pub fn log_dir(&self) -> &Path {
        &self.dir
    }
}

/// Whether process `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|end| stat.get(end + 1..))
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Polls `ready` until it succeeds; fails early if `process` exits, and after
/// [`PATIENCE`].
fn wait(process: &mut Process, what: &str, mut ready: impl FnMut() -> Result<()>) -> Result<()> {
    let start = Instant::now();
    loop {
        process.ensure_running().with_context(|| format!("waiting for {what}"))?;
        match ready() {
            Ok(()) => return Ok(()),
            Err(error) if start.elapsed() > PATIENCE => {
                bail!(
                    "{what}: not ready after {} s ({error:#}); log:\n{}",
                    PATIENCE.as_secs(),
                    tail(&process.log())
                )
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// The last lines of a log, for error messages.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
