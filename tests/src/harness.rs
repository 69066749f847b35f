//! The processes of an end-to-end test: the real signaling server serving
//! the built web app, native peers (`corkboard-peer`) on temporary data
//! directories, and headless Chromiums each behind its own chromedriver.
//!
//! Every process is killed when its guard is dropped, so a failing test
//! leaves nothing running. Processes are found through environment variables
//! first (`CORKBOARD_SIGNALING_BIN`, `CORKBOARD_PEER_BIN`, `CORKBOARD_DIST`),
//! then in the cargo target directory.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};

/// Debian's Chromium (`apt install chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver (`apt install chromium-driver`).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a process may take to start answering. Generous: a test fails
/// because a process never starts, not because the machine is busy.
const STARTUP: Duration = Duration::from_secs(60);
/// How often startup is polled.
const STARTUP_POLL: Duration = Duration::from_millis(50);

/// The environment variable naming a directory where helpers save
/// screenshots (see [`save_shot`]); unset, they save none.
pub const SHOTS_ENV: &str = "CORKBOARD_E2E_SHOTS";

mod browser;
mod redis;

pub use browser::{Browser, cdp, require_browser, save_shot, webdriver_session};
pub use redis::Redis;

// ----- paths -------------------------------------------------------------------

/// The workspace root (the directory holding `Cargo.toml` and `ui/`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// A fresh, empty directory unique to this process and call:
/// `$TMPDIR/corkboard-e2e/<pid>/<name>-<n>`. It is left behind so that
/// screenshots and logs can be looked at after a failure, until the next
/// run: the first call in a process removes the directories of runs whose
/// process has ended.
pub fn temp_dir(name: &str) -> Result<PathBuf> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    static PRUNED: std::sync::Once = std::sync::Once::new();
    let root = std::env::temp_dir().join("corkboard-e2e");
    PRUNED.call_once(|| prune_finished_runs(&root));
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = root.join(std::process::id().to_string()).join(format!("{name}-{n}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Removes the run directories under `root` whose process no longer runs.
fn prune_finished_runs(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The cargo target directory: `$CARGO_TARGET_DIR`, else the one `./x`
/// uses (`~/.cache/corkboard/target`).
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".cache/corkboard/target")
}

/// A binary of this workspace: the path in `env_var` if set, else
/// `<target>/debug/<name>`, else next to this test executable's profile
/// directory. Fails, saying how to build it, when none exists.
pub fn workspace_binary(env_var: &str, name: &str, package: &str) -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(env_var).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        ensure!(path.is_file(), "{env_var}={}: no such file", path.display());
        return Ok(path);
    }
    let mut candidates = vec![target_dir().join("debug").join(name)];
    // The test executable lives in <target>/<profile>/deps/.
    if let Ok(exe) = std::env::current_exe()
        && let Some(profile_dir) = exe.parent().and_then(Path::parent)
    {
        candidates.push(profile_dir.join(name));
    }
    if let Some(found) = candidates.iter().find(|path| path.is_file()) {
        return Ok(found.clone());
    }
    let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    bail!(
        "{name} not found (looked at {}): build it with `cargo build -p {package}` (`cargo test --workspace` \
         builds it too) or set {env_var}",
        looked.join(", ")
    )
}

/// The built web app: `$CORKBOARD_DIST`, else `<workspace>/ui/dist`. Fails
/// unless it holds an `index.html`.
pub fn dist_dir() -> Result<PathBuf> {
    let dir = match std::env::var_os("CORKBOARD_DIST").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("ui").join("dist"),
    };
    ensure!(
        dir.join("index.html").is_file(),
        "no web app at {} (no index.html): build it (`./x test` does, or `trunk build` in ui/) or point \
         CORKBOARD_DIST at a built one",
        dir.display()
    );
    Ok(dir)
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let [port] = free_ports()?;
    Ok(port)
}

/// `N` distinct free loopback ports (all held while they are picked, so no
/// two are the same).
pub fn free_ports<const N: usize>() -> Result<[u16; N]> {
    let listeners = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1:0"))
        .collect::<Result<Vec<_>>>()?;
    let mut ports = [0; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

/// A plain HTTP/1.1 GET on loopback: (status code, body). For readiness
/// checks only (no chunked decoding, no redirects). Reads exactly the
/// `Content-Length` announced, since some servers (chromedriver) keep the
/// connection open after answering.
pub fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| anyhow!("not an HTTP response from {addr}{path}: {line:?}"))?;
    let mut length = None;
    loop {
        line.clear();
        ensure!(reader.read_line(&mut line)? > 0, "{addr}{path}: the response ended in its headers");
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = Vec::new();
    match length {
        Some(length) => {
            body.resize(length, 0);
            reader.read_exact(&mut body)?;
        }
        None => {
            reader.read_to_end(&mut body)?;
        }
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

// ----- processes -----------------------------------------------------------------

/// A child process killed (and reaped) on drop, its output in a log file.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
    /// Whether the child leads its own process group (killed as a whole).
    group: bool,
    killed: bool,
}

impl Process {
    /// Spawns `command` with stdin closed, stderr (and stdout unless the
    /// command already routes it) appended to `log`. With `group`, the
    /// child leads a new process group and everything in it dies with it.
    pub fn spawn(name: &str, mut command: Command, log: &Path, group: bool) -> Result<Process> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open {}", log.display()))?;
        command.stdin(Stdio::null()).stderr(file.try_clone()?);
        if group {
            std::os::unix::process::CommandExt::process_group(&mut command, 0);
        }
        let child = command.spawn().with_context(|| format!("cannot start {name} ({command:?})"))?;
        Ok(Process { name: name.to_owned(), child, log: log.to_path_buf(), group, killed: false })
    }

    /// Like [`Process::spawn`], with stdout also going to the log.
    pub fn spawn_logged(name: &str, mut command: Command, log: &Path, group: bool) -> Result<Process> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open {}", log.display()))?;
        command.stdout(file);
        Process::spawn(name, command, log, group)
    }

    /// The operating system's id of the process.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The log file (stderr, and stdout where it was not piped).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// What the process has logged so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log).map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).unwrap_or_default()
    }

    /// The child's stdout, if it was piped (taken once).
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// Fails with the end of the log if the process has exited.
    pub fn ensure_running(&mut self) -> Result<()> {
        if let Some(status) = self.exited()? {
            bail!(
                "{} exited ({status}); its log ({}):\n{}",
                self.name,
                self.log.display(),
                tail(&self.log())
            );
        }
        Ok(())
    }

    /// Kills the process (its whole group if it leads one) and reaps it.
    /// Idempotent.
    pub fn kill(&mut self) {
        if self.killed {
            return;
        }
        self.killed = true;
        let pid = self.child.id();
        if self.group
            && let Ok(raw) = i32::try_from(pid)
        {
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(raw), nix::sys::signal::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.group {
            wait_for_group(pid, None, Duration::from_secs(10));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last lines of a log, for error messages.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The live (not zombie) processes of process group `group`.
pub fn group_members(group: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "pid (comm) state ppid pgrp ...": comm may hold anything, so
            // read after its closing parenthesis.
            let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
            let state = fields.next()?;
            let pgrp: u32 = fields.nth(1)?.parse().ok()?;
            (pgrp == group && state != "Z" && state != "X").then_some(pid)
        })
        .collect()
}

/// Waits (bounded) until process group `group` holds no live process but
/// `except`.
fn wait_for_group(group: u32, except: Option<u32>, limit: Duration) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if group_members(group).iter().all(|pid| Some(*pid) == except) {
            return;
        }
        std::thread::sleep(STARTUP_POLL);
    }
}

/// Polls `ready` until it succeeds, failing early (with the log) if the
/// process exits and after [`STARTUP`] with the last error.
pub fn wait_ready(process: &mut Process, what: &str, mut ready: impl FnMut() -> Result<()>) -> Result<()> {
    let start = Instant::now();
    loop {
        process.ensure_running().with_context(|| format!("waiting for {what}"))?;
        let error = match ready() {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        if start.elapsed() > STARTUP {
            bail!(
                "{what}: not ready after {} s ({error:#}); log ({}):\n{}",
                STARTUP.as_secs(),
                process.log_path().display(),
                tail(&process.log())
            );
        }
        std::thread::sleep(STARTUP_POLL);
    }
}

// ----- signaling -------------------------------------------------------------------

/// The real `corkboard-signaling` on a free loopback port, serving the web
/// app. Killed on drop.
#[derive(Debug)]
pub struct Signaling {
    process: Process,
    addr: SocketAddr,
}

impl Signaling {
    /// Starts the server serving the built web app ([`dist_dir`]).
    pub fn start() -> Result<Signaling> {
        Signaling::start_with(Some(&dist_dir()?))
    }

    /// Starts the server, serving `static_dir` if given.
    pub fn start_with(static_dir: Option<&Path>) -> Result<Signaling> {
        Signaling::start_on("127.0.0.1:0", static_dir)
    }

    /// Starts the server listening on `listen` (`127.0.0.1:PORT`: a port
    /// peers were told about before anyone listened there), serving
    /// `static_dir` if given.
    pub fn start_on(listen: &str, static_dir: Option<&Path>) -> Result<Signaling> {
        Signaling::start_in(None, listen, static_dir, &[])
    }

    /// Starts the server inside network namespace `netns` (if given),
    /// listening on `listen`, with more flags (`--stun`, `--turn-url`, …).
    pub fn start_in(
        netns: Option<&str>,
        listen: &str,
        static_dir: Option<&Path>,
        flags: &[String],
    ) -> Result<Signaling> {
        let bin = workspace_binary("CORKBOARD_SIGNALING_BIN", "corkboard-signaling", "signaling")?;
        let dir = temp_dir("signaling")?;
        let mut command = Command::new(&bin);
        command.args(["--listen", listen]).args(flags);
        if let Some(static_dir) = static_dir {
            command.arg("--static").arg(static_dir);
        }
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "info");
        }
        let mut command = match netns {
            Some(netns) => crate::netns::in_namespace(netns, &command),
            None => command,
        };
        command.stdout(Stdio::piped());
        let mut process = Process::spawn("corkboard-signaling", command, &dir.join("signaling.log"), false)?;

        // It prints `listening on http://ADDR` once bound; the reader thread
        // then keeps draining stdout until the process ends.
        let stdout = process.take_stdout().ok_or_else(|| anyhow!("no stdout from corkboard-signaling"))?;
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.trim().strip_prefix("listening on http://") {
                    let _ = sender.send(addr.to_owned());
                }
            }
        });
        let start = Instant::now();
        let addr: SocketAddr = loop {
            match receiver.recv_timeout(STARTUP_POLL) {
                Ok(addr) => break addr.parse().with_context(|| format!("bad address {addr:?}"))?,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) if start.elapsed() < STARTUP => {
                    process.ensure_running()?;
                }
                Err(_) => {
                    process.ensure_running()?;
                    bail!("corkboard-signaling never said where it listens; log:\n{}", tail(&process.log()));
                }
            }
        };
        wait_ready(&mut process, "corkboard-signaling /healthz", || {
            let (status, _) = http_get(addr, "/healthz")?;
            ensure!(status == 200, "/healthz answered {status}");
            Ok(())
        })?;
        Ok(Signaling { process, addr })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its origin, `http://127.0.0.1:PORT`: the web app's address and the
    /// `--signal` argument of native peers.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The web app's address of a board, from any form of its share link
    /// (`corkboard://board#board=…&key=…` or a web link): this origin with
    /// the link's fragment.
    pub fn board_url(&self, link: &str) -> Result<String> {
        let (_, fragment) = link.split_once('#').ok_or_else(|| anyhow!("not a share link: {link:?}"))?;
        Ok(format!("{}/#{fragment}", self.url()))
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Its `/healthz`, parsed.
    pub fn health(&self) -> Result<serde_json::Value> {
        let (status, body) = http_get(self.addr, "/healthz")?;
        ensure!(status == 200, "/healthz answered {status}: {body}");
        serde_json::from_str(&body).with_context(|| format!("/healthz is not JSON: {body}"))
    }

    /// Kills it at once (SIGKILL, as a crash would): it cleans nothing up.
    pub fn kill(&mut self) {
        self.process.kill();
    }
}

// ----- native peer -----------------------------------------------------------------

/// What a finished `corkboard-peer` command printed.
#[derive(Debug, Clone)]
pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// `corkboard-peer` working on one data directory.
#[derive(Debug)]
pub struct NativePeer {
    bin: PathBuf,
    data: PathBuf,
    /// The network namespace it runs in (see [`crate::netns`]), if not this one.
    netns: Option<String>,
}

/// Its default log filter with `info` for the peer itself (what
/// [`NativePeer::spawn_serve`] waits for is logged at `info`).
const PEER_LOG: &str =
    "warn,peer=info,corkboard_peer=info,rtc=error,rtc_ice=error,rtc_dtls=error,rtc_sctp=error,webrtc=error";

impl NativePeer {
    /// A peer on a fresh temporary data directory.
    pub fn new(name: &str) -> Result<NativePeer> {
        NativePeer::with_data(temp_dir(&format!("peer-{name}"))?)
    }

    /// A peer on `data` (created if missing), for example to reopen one.
    pub fn with_data(data: impl Into<PathBuf>) -> Result<NativePeer> {
        let data = data.into();
        std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
        let bin = workspace_binary("CORKBOARD_PEER_BIN", "corkboard-peer", "peer")?;
        Ok(NativePeer { bin, data, netns: None })
    }

    /// The same peer, running its commands inside network namespace `netns`.
    pub fn in_netns(self, netns: &str) -> NativePeer {
        NativePeer { netns: Some(netns.to_owned()), ..self }
    }

    /// Its data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// `corkboard-peer ARGS --data DIR`, ready to run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command.args(args).arg("--data").arg(&self.data).env("RUST_LOG", PEER_LOG);
        match &self.netns {
            Some(netns) => crate::netns::in_namespace(netns, &command),
            None => command,
        }
    }

    /// Runs a command to completion (output trimmed).
    pub fn run(&self, args: &[&str]) -> Result<Output> {
        let output = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {}", self.bin.display()))?;
        Ok(Output {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).trim().to_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }

    /// Runs a command that must succeed; its stdout.
    pub fn run_ok(&self, args: &[&str]) -> Result<String> {
        let output = self.run(args)?;
        ensure!(output.success, "corkboard-peer {} failed:\n{}", args.join(" "), output.stderr);
        Ok(output.stdout)
    }

    /// `new --title TITLE`: the new board's share link.
    pub fn new_board(&self, title: &str) -> Result<String> {
        self.run_ok(&["new", "--title", title])
    }

    /// `add-note`: the new card's id.
    pub fn add_note(&self, link: &str, text: &str, x: f64, y: f64) -> Result<String> {
        let (x, y) = (x.to_string(), y.to_string());
        self.run_ok(&["add-note", "--board", link, "--text", text, "--x", &x, "--y", &y])
    }

    /// `show --json`, parsed.
    pub fn show(&self, link: &str) -> Result<serde_json::Value> {
        let json = self.run_ok(&["show", "--board", link, "--json"])?;
        serde_json::from_str(&json).with_context(|| format!("show printed no JSON: {json}"))
    }

    /// `sync` with whoever is online (every interface and loopback); its
    /// output, successful once in sync with at least one peer.
    pub fn sync(&self, signal: &str, link: &str, timeout: Duration) -> Result<Output> {
        self.sync_with(signal, link, timeout, &[])
    }

    /// [`NativePeer::sync`] with more flags (`--relay-only`, `--udp`, …).
    pub fn sync_with(&self, signal: &str, link: &str, timeout: Duration, extra: &[&str]) -> Result<Output> {
        let timeout = timeout.as_secs().max(1).to_string();
        let mut args = vec!["sync", "--signal", signal, "--board", link, "--timeout", &timeout];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// `serve --signal SIGNAL EXTRA…`, returned once connected to the
    /// signaling server; killed when the guard drops.
    pub fn spawn_serve(&self, signal: &str, extra: &[&str]) -> Result<Served> {
        let mut args = vec!["serve", "--signal", signal];
        args.extend_from_slice(extra);
        let log = temp_dir("serve")?.join("serve.log");
        let mut process = Process::spawn_logged("corkboard-peer serve", self.command(&args), &log, false)?;
        wait_ready(&mut process, "corkboard-peer serve", || {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            ensure!(log.contains("connected to the signaling server"), "not connected yet");
            Ok(())
        })?;
        Ok(Served { process })
    }
}

/// A running `corkboard-peer serve`; killed on drop.
#[derive(Debug)]
pub struct Served {
    process: Process,
}

impl Served {
    /// What it has logged so far.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.process.exited(), Ok(None))
    }

    /// Kills it now (as dropping does).
    pub fn stop(mut self) {
        self.process.kill();
    }
}
