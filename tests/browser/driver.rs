//! Headless Chromium under WebDriver: Debian's `chromium` and `chromedriver`, started by the test
//! on a free port and killed when the guard drops. Nothing is downloaded at run time.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tempfile::TempDir;

const INSTALL: &str = "install them with `apt-get install chromium chromium-driver` (Debian) \
                       and run the test again";

/// How long chromedriver may take to listen.
const DRIVER_START: Duration = Duration::from_secs(30);

/// `name` on `PATH`, else in `/usr/bin`; a clear failure when it is nowhere.
fn binary(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the browser test needs `{name}` (Debian package `{package}`), which is not \
                 installed: {INSTALL}"
            )
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free local port")
        .port()
}

/// A running chromedriver and the profile directory of its browser. Dropping it kills
/// chromedriver and every browser process it started (they share its process group).
pub struct ChromeDriver {
    child: Child,
    pub url: String,
    chromium: PathBuf,
    profile: TempDir,
}

impl ChromeDriver {
    pub fn start() -> ChromeDriver {
        let chromium = binary("chromium", "chromium");
        let chromedriver = binary("chromedriver", "chromium-driver");
        let port = free_port();
        let mut child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so that Drop can end the browser with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{} could not start: {e}", chromedriver.display()));

        // chromedriver says on stdout when it listens; the rest of its output is drained so that
        // it never blocks on a full pipe, and kept for the failure message.
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            let mut seen = String::new();
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref().map_while(Result::ok) {
                seen.push_str(&line);
                seen.push('\n');
                if line.contains("started successfully") {
                    let _ = ready_tx.send(Ok(()));
                    lines.for_each(drop);
                    return;
                }
            }
            let _ = ready_tx.send(Err(seen));
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stderr.read_to_end(&mut sink);
        });

        let driver = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            chromium,
            profile: tempfile::tempdir().expect("a profile directory"),
        };
        match ready_rx.recv_timeout(DRIVER_START) {
            Ok(Ok(())) => driver,
            Ok(Err(output)) => panic!(
                "{} exited before listening on port {port}; its output:\n{output}",
                chromedriver.display()
            ),
            Err(_) => panic!(
                "{} did not listen on port {port} within {DRIVER_START:?}",
                chromedriver.display()
            ),
        }
    }

    /// A new headless browser session, `width`×`height` pixels.
    pub async fn browser(&self, width: u32, height: u32) -> Client {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            &format!("--window-size={width},{height}"),
            &format!("--user-data-dir={}", self.profile.path().display()),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": path_str(&self.chromium),
                "args": args,
            },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("an object literal")
        };
        let capabilities: Capabilities = capabilities;
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver at {} could not start {}: {e}",
                    self.url,
                    self.chromium.display()
                )
            })
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let group = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill(2) with a negative pid signals the process group that `process_group(0)`
        // created for chromedriver; it touches no memory of this process.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}
