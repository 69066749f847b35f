//! Headless Chromium behind its own chromedriver, one per simulated person,
//! and WebDriver sessions (also the desktop app's, through tauri-driver).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail, ensure};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;

use super::*;

/// Fails, saying how to install them, unless Chromium and chromedriver are
/// A WebDriver session on the driver at 127.0.0.1:`port` (plain HTTP).
pub async fn webdriver_session(port: u16, capabilities: serde_json::Value) -> Result<Client> {
    let serde_json::Value::Object(capabilities) = capabilities else {
        bail!("capabilities are not a JSON object");
    };
    Ok(ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await?)
}

/// there. The end-to-end tests never pass without a browser.
pub fn require_browser() -> Result<()> {
    let missing: Vec<&str> =
        [CHROMIUM, CHROMEDRIVER].into_iter().filter(|p| !Path::new(p).is_file()).collect();
    ensure!(
        missing.is_empty(),
        "the end-to-end tests need a browser and {} is missing: run `./x test`, which installs Debian's \
         chromium and chromium-driver (or `apt-get install chromium chromium-driver`)",
        missing.join(" and ")
    );
    Ok(())
}

/// A headless Chromium driven through its own chromedriver. Dropping it
/// kills chromedriver and the browser (their whole process group); call
/// [`Browser::close`] to let the browser quit cleanly first (needed before
/// reopening the same profile, so what the page stored is on disk).
#[derive(Debug)]
pub struct Browser {
    client: Client,
    driver: Process,
    profile: PathBuf,
    /// The profile is a temporary one, removed with the browser.
    owns_profile: bool,
    /// Where the page's downloads go.
    downloads: PathBuf,
}

impl Browser {
    /// A browser with a fresh temporary profile.
    pub async fn start() -> Result<Browser> {
        let dir = temp_dir("browser")?;
        let profile = dir.join("profile");
        Browser::launch(&dir, profile, true).await
    }

    /// A browser on the profile directory `profile` (created if missing),
    /// kept when the browser closes: start another on it to "restart" the
    /// browser with what the page stored.
    pub async fn start_with_profile(profile: &Path) -> Result<Browser> {
        let dir = temp_dir("browser")?;
        Browser::launch(&dir, profile.to_path_buf(), false).await
    }

    async fn launch(dir: &Path, profile: PathBuf, owns_profile: bool) -> Result<Browser> {
        require_browser()?;
        std::fs::create_dir_all(&profile).with_context(|| format!("cannot create {}", profile.display()))?;
        let (driver, port) = start_chromedriver(dir)?;
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--window-size=1280,800",
        ]
        .map(String::from)
        .into();
        args.push(format!("--user-data-dir={}", profile.display()));
        let downloads = dir.join("downloads");
        std::fs::create_dir_all(&downloads)
            .with_context(|| format!("cannot create {}", downloads.display()))?;
        let capabilities = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": args,
                "prefs": {
                    "download.default_directory": downloads,
                    "download.prompt_for_download": false,
                },
            },
        });
        let client = webdriver_session(port, capabilities).await.map_err(|e| {
            anyhow!(
                "chromedriver could not start Chromium: {e}; chromedriver's log ({}):\n{}",
                driver.log_path().display(),
                tail(&driver.log())
            )
        })?;
        Ok(Browser { client, driver, profile, owns_profile, downloads })
    }

    /// A file the page downloaded, named `name`, once it is whole (a hang
    /// guard of a minute; downloads of a test's size take moments).
    pub async fn downloaded(&self, name: &str) -> Result<Vec<u8>> {
        let path = self.downloads.join(name);
        let partial = self.downloads.join(format!("{name}.crdownload"));
        for _ in 0..600 {
            if path.is_file() && !partial.exists() {
                return std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let listed: Vec<String> = std::fs::read_dir(&self.downloads)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        Err(anyhow!("no download {name} arrived; the downloads folder holds {listed:?}"))
    }

    /// The WebDriver session.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The profile directory.
    pub fn profile(&self) -> &Path {
        &self.profile
    }

    /// Navigates to `url` (returns once the page has loaded).
    pub async fn open(&self, url: &str) -> Result<()> {
        self.client.goto(url).await.with_context(|| format!("cannot open {url}"))
    }

    /// Saves a PNG screenshot of the page at `path`.
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let png = self.client.screenshot().await.context("cannot take a screenshot")?;
        std::fs::write(path, png).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Saves a screenshot named `name` in `$CORKBOARD_E2E_SHOTS` if set
    /// (see [`save_shot`]).
    pub async fn shot(&self, name: &str) -> Result<Option<PathBuf>> {
        save_shot(&self.client, name).await
    }

    /// Ends the session (the browser quits cleanly, flushing its profile),
    /// then stops chromedriver.
    pub async fn close(mut self) -> Result<()> {
        let closed = self.client.clone().close().await;
        // Let the browser's processes finish exiting before chromedriver's
        // group is killed, so the profile is complete on disk.
        wait_for_group(self.driver.id(), Some(self.driver.id()), Duration::from_secs(20));
        self.driver.kill();
        closed.context("cannot end the WebDriver session")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.driver.kill();
        if self.owns_profile {
            let _ = std::fs::remove_dir_all(&self.profile);
        }
    }
}

/// Starts chromedriver on a free port (retrying if another process took the
/// port meanwhile) and waits until it accepts sessions.
fn start_chromedriver(dir: &Path) -> Result<(Process, u16)> {
    let mut last = None;
    for attempt in 0..3 {
        let port = free_port()?;
        let mut command = Command::new(CHROMEDRIVER);
        command.arg(format!("--port={port}"));
        let log = dir.join(format!("chromedriver-{attempt}.log"));
        let mut driver = Process::spawn_logged("chromedriver", command, &log, true)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        match wait_ready(&mut driver, "chromedriver", || {
            let (status, body) = http_get(addr, "/status")?;
            ensure!(status == 200 && body.contains("\"ready\":true"), "/status answered {status}: {body}");
            Ok(())
        }) {
            Ok(()) => return Ok((driver, port)),
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| anyhow!("chromedriver did not start")))
}

/// Saves a PNG screenshot of `client`'s page as `<name>.png` in the
/// directory `$CORKBOARD_E2E_SHOTS` names (created if missing): the path,
/// or `None` when the variable is unset.
/// A Chrome DevTools Protocol command, sent through chromedriver's
/// `goog/cdp/execute` (touch input, device emulation, media emulation).
#[derive(Debug)]
struct Cdp {
    cmd: String,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Runs DevTools command `cmd` with `params` in the page; its result.
pub async fn cdp(client: &Client, cmd: &str, params: serde_json::Value) -> Result<serde_json::Value> {
    client
        .issue_cmd(Cdp { cmd: cmd.to_owned(), params })
        .await
        .with_context(|| format!("the DevTools command {cmd} failed"))
}

pub async fn save_shot(client: &Client, name: &str) -> Result<Option<PathBuf>> {
    let Some(dir) = std::env::var_os(SHOTS_ENV).filter(|d| !d.is_empty()) else { return Ok(None) };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    let path = dir.join(format!("{safe}.png"));
    let png = client.screenshot().await.context("cannot take a screenshot")?;
    std::fs::write(&path, png).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Some(path))
}
