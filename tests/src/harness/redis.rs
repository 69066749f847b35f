//! A real `redis-server` (Debian's) for the signaling cluster's tests: on a
//! unix socket in a fresh directory, keeping nothing on disk, so a restart
//! is an empty Redis at the same address (as a crashed one with no
//! persistence comes back).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use super::{Process, temp_dir};

/// Where Debian puts it.
const REDIS_SERVER: &str = "/usr/bin/redis-server";

/// A running `redis-server`; killed on drop.
#[derive(Debug)]
pub struct Redis {
    dir: PathBuf,
    process: Option<Process>,
}

impl Redis {
    /// Starts one, waiting until its socket answers.
    pub fn start() -> Result<Redis> {
        ensure!(
            Path::new(REDIS_SERVER).is_file(),
            "the signaling cluster's tests need {REDIS_SERVER}: run `./x test`, which installs Debian's \
             redis-server (or `apt-get install redis-server`)"
        );
        let mut redis = Redis { dir: temp_dir("redis")?, process: None };
        redis.restart()?;
        Ok(redis)
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    /// Its address for `corkboard-signaling --redis`.
    pub fn url(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// Kills it at once (as a crash would): nothing is saved.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
        let _ = std::fs::remove_file(self.socket());
    }

    /// Starts it again at the same address (killing it first if running).
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        let mut command = Command::new(REDIS_SERVER);
        command
            .args(["--port", "0", "--unixsocket"])
            .arg(self.socket())
            .args(["--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--dir"])
            .arg(&self.dir);
        let mut process = Process::spawn_logged("redis-server", command, &self.dir.join("redis.log"), false)?;
        let start = Instant::now();
        loop {
            if std::os::unix::net::UnixStream::connect(self.socket()).is_ok() {
                break;
            }
            process.ensure_running()?;
            if start.elapsed() > Duration::from_secs(20) {
                bail!("redis-server: its socket did not answer within 20 s; log:\n{}", process.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.process = Some(process);
        Ok(())
    }

    /// A command through `redis-cli` (from the same package), its output.
    pub fn cli(&self, args: &[&str]) -> Result<String> {
        let output = Command::new("/usr/bin/redis-cli")
            .arg("-s")
            .arg(self.socket())
            .args(args)
            .output()
            .context("cannot run redis-cli")?;
        ensure!(output.status.success(), "redis-cli {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}
