//! Helpers shared by the peer's integration tests: the binary, temporary
//! data directories, running a command.

use std::process::Command;

pub fn peer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_corkboard-peer"))
}

/// A fresh directory (path as a string) unique to this test process.
pub fn temp_dir(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("corkboard-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.to_string_lossy().into_owned()
}

/// Runs `corkboard-peer` to completion: (succeeded, stdout, stderr).
pub fn run(args: &[&str]) -> (bool, String, String) {
    let output = peer().args(args).env("RUST_LOG", "info").output().expect("run corkboard-peer");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    )
}

/// The arguments of `sync` on loopback.
pub fn sync_args<'a>(signal: &'a str, link: &'a str, data: &'a str, timeout: &'a str) -> Vec<&'a str> {
    vec![
        "sync",
        "--signal",
        signal,
        "--board",
        link,
        "--timeout",
        timeout,
        "--udp",
        "127.0.0.1:0",
        "--data",
        data,
    ]
}
