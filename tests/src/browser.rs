//! A headless Chromium driven through WebDriver, for the dashboard's test.
//! Debian's `chromium` and `chromium-driver` (chromedriver) are all it
//! needs; the few WebDriver commands used (new session, navigate, execute
//! script, screenshot, delete session) are plain JSON over HTTP/1.1, spoken
//! here directly rather than through a client crate and its HTTP stack.
//!
//! [`Browser::find`] says whether the programs are there: with `CI=true`
//! their absence is a failure, elsewhere a skip with the reason printed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long chromedriver may take to answer its first status request.
const DRIVER_START: Duration = Duration::from_secs(20);
/// One WebDriver command, including a page load.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Between two looks at the page while waiting for it to show something.
const LOOK_INTERVAL: Duration = Duration::from_millis(100);

/// The browser and its driver, as found on this machine.
#[derive(Debug, Clone)]
pub struct Programs {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

/// A WebDriver session in a headless Chromium; ends it and stops the driver
/// when dropped.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
}

impl Browser {
    /// The programs, or why they cannot be used: `CHROMIUM` and
    /// `CHROMEDRIVER` name them (a name that is no file counts as none),
    /// else they are looked up on `PATH`.
    pub fn find() -> Result<Programs, String> {
        let chromium = program(
            "CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        )
        .ok_or("no chromium on PATH (Debian: apt-get install chromium)")?;
        let chromedriver = program("CHROMEDRIVER", &["chromedriver"]).ok_or(
            "no chromedriver (CHROMEDRIVER, or on PATH; Debian: apt-get install chromium-driver)",
        )?;
        Ok(Programs {
            chromium,
            chromedriver,
        })
    }

    /// The programs, or `None` after printing why the test is skipped; with
    /// `CI=true` a missing browser fails the test instead.
    pub fn find_or_skip(test: &str) -> Option<Programs> {
        match Browser::find() {
            Ok(programs) => Some(programs),
            Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("{test}: CI=true requires a browser: {why}")
            }
            Err(why) => {
                eprintln!("SKIPPED {test}: {why}");
                None
            }
        }
    }

    /// Starts chromedriver and a headless Chromium window of `width` x `height`.
    pub fn start(programs: &Programs, width: u32, height: u32) -> Result<Browser, String> {
        let port = free_port()?;
        let driver = Command::new(&programs.chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", programs.chromedriver.display()))?;
        let mut browser = Browser {
            driver,
            port,
            session: String::new(),
        };
        let deadline = Instant::now() + DRIVER_START;
        loop {
            match browser.call("GET", "/status", None) {
                Ok(status) if status["ready"] == true => break,
                _ if Instant::now() >= deadline => {
                    return Err(format!(
                        "chromedriver did not become ready within {DRIVER_START:?}"
                    ))
                }
                _ => std::thread::sleep(LOOK_INTERVAL),
            }
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": programs.chromium,
                "args": ["--headless", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", format!("--window-size={width},{height}")],
            },
        }}});
        let session = browser.call("POST", "/session", Some(&capabilities))?;
        browser.session = session["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session id in {session}"))?
            .to_string();
        Ok(browser)
    }

    pub fn goto(&self, url: &str) -> Result<(), String> {
        self.command("POST", "url", Some(&json!({ "url": url })))
            .map(drop)
    }

    /// Resizes the window (e.g. to a phone's width).
    pub fn resize(&self, width: u32, height: u32) -> Result<(), String> {
        let rect = json!({"width": width, "height": height});
        self.command("POST", "window/rect", Some(&rect)).map(drop)
    }

    /// Runs `script` (a function body: `return ...;`) in the page.
    pub fn execute(&self, script: &str) -> Result<Value, String> {
        self.command(
            "POST",
            "execute/sync",
            Some(&json!({"script": script, "args": []})),
        )
    }

    /// Looks at the page with `script` until `done` holds for what it
    /// returns, or `timeout` passes: then the last look is the error.
    pub fn wait_for(
        &self,
        what: &str,
        script: &str,
        timeout: Duration,
        mut done: impl FnMut(&Value) -> bool,
    ) -> Result<Value, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.execute(script)?;
            if done(&seen) {
                return Ok(seen);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the page did not show {what} within {timeout:?}; last seen: {seen}"
                ));
            }
            std::thread::sleep(LOOK_INTERVAL);
        }
    }

    /// Saves a PNG of the window to `path`.
    pub fn screenshot(&self, path: &Path) -> Result<(), String> {
        use base64::Engine;
        let png = self.command("GET", "screenshot", None)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().ok_or("screenshot: no data")?)
            .map_err(|e| format!("screenshot: {e}"))?;
        std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    fn command(&self, method: &str, what: &str, body: Option<&Value>) -> Result<Value, String> {
        self.call(method, &format!("/session/{}/{what}", self.session), body)
    }

    /// One WebDriver request; its `value`, or the error it names.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))
            .map_err(|e| format!("chromedriver at port {}: {e}", self.port))?;
        stream.set_read_timeout(Some(COMMAND_TIMEOUT)).ok();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let body = read_reply(&mut stream).map_err(|e| format!("{method} {path}: {e}"))?;
        let body = String::from_utf8_lossy(&body);
        let json: Value = serde_json::from_str(&body)
            .map_err(|e| format!("{method} {path}: not JSON ({e}): {body}"))?;
        let value = json.get("value").cloned().unwrap_or(Value::Null);
        match value.get("error") {
            Some(error) => Err(format!(
                "{method} {path}: {error}: {}",
                value["message"].as_str().unwrap_or("")
            )),
            None => Ok(value),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `env` if set, else the first of `names` found on `PATH`.
fn program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// The body of one HTTP/1.1 reply: chromedriver keeps the connection open,
/// so the body ends where its Content-Length says (or, chunked, at the last
/// chunk).
fn read_reply(stream: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut reply = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    let mut more = |reply: &mut Vec<u8>| -> Result<bool, String> {
        let n = stream.read(&mut buffer).map_err(|e| e.to_string())?;
        reply.extend_from_slice(&buffer[..n]);
        Ok(n > 0)
    };
    let split = loop {
        if let Some(at) = reply.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        if !more(&mut reply)? {
            return Err("the connection closed before the headers ended".into());
        }
    };
    let head = String::from_utf8_lossy(&reply[..split]).to_ascii_lowercase();
    let length = (head.lines())
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding:") && head.contains("chunked");
    loop {
        let body = &reply[split + 4..];
        let complete = match (length, chunked) {
            (Some(n), _) => body.len() >= n,
            (None, true) => body.ends_with(b"0\r\n\r\n"),
            (None, false) => false,
        };
        if complete {
            break;
        }
        if !more(&mut reply)? {
            break; // closed: what came is the body
        }
    }
    let body = &reply[split + 4..];
    Ok(match (length, chunked) {
        (Some(n), _) => body[..n.min(body.len())].to_vec(),
        (None, true) => dechunk(body),
        (None, false) => body.to_vec(),
    })
}

/// A chunked HTTP body, joined.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..end]).unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size, 16) else {
            break;
        };
        let rest = &body[end + 2..];
        if size == 0 || rest.len() < size {
            break;
        }
        out.extend_from_slice(&rest[..size]);
        body = rest[size..].strip_prefix(b"\r\n").unwrap_or(&rest[size..]);
    }
    out
}
