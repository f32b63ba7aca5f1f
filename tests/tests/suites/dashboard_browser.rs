//! The dashboard in a real browser: `pairctl up --dashboard` runs the small
//! scenario (child processes, mutual TLS, spans exported to an OTLP
//! receiver of this test), a headless Chromium opens the page, and the test
//! checks what a person would see: the run in progress, then every pairing
//! on the map, every case at its final stage in the table, ledger totals
//! equal to the run report's, and each case's trace link naming the trace
//! its spans were exported under. It saves a screenshot.
//!
//! Needs Debian's `chromium` and `chromium-driver`: with `CI=true` their
//! absence fails the test, elsewhere it is skipped with the reason printed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use counterpart_tests::browser::Browser;
use counterpart_tests::scenario_path;
use pairctl::traces::otlp::Receiver;
use serde_json::Value;

const JAEGER: &str = "http://jaeger.example:16686";

/// What the page shows, read from the DOM as a person would see it.
const LOOK: &str = r#"
const rows = [...document.querySelectorAll('#case-table tbody tr.case')];
const number = (t) => Number(t.textContent.replace(/,/g, ''));
return {
  state: document.getElementById('run-state').dataset.state,
  cases: Object.fromEntries(rows.map((r) => [r.dataset.case, r.dataset.status])),
  traces: Object.fromEntries(rows.map((r) => [r.dataset.case,
    (r.querySelector('a.trace') || {}).href || null])),
  pairs: [...document.querySelectorAll('#map line.pairing')].map((l) => l.dataset.pair).sort(),
  places: [...document.querySelectorAll('#map g.place')].map((g) => g.dataset.place).sort(),
  totals: Object.fromEntries([...document.querySelectorAll('#ledger-table tfoot [data-total]')]
    .map((t) => [t.dataset.total, number(t)])),
  books: document.getElementById('books').textContent,
};
"#;

/// `pairctl up`, killed if the test ends early; its stdout, line by line.
struct Up {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Up {
    /// The first line starting with `prefix`, within `timeout`.
    fn line(&self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(e) => panic!("pairctl up printed no {prefix:?} line within {timeout:?}: {e}"),
            }
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_up(dir: &std::path::Path, otlp: &str, scenario: &str, day_ms: &str) -> Up {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pairctl-under-test"))
        .args(["up", "--day-ms", day_ms, "--dashboard", "127.0.0.1:0"])
        .args(["--jaeger-url", JAEGER, "--otlp", otlp, "--scenario"])
        .arg(scenario_path(scenario))
        .arg("--report")
        .arg(dir.join("report.json"))
        .arg("--log-dir")
        .arg(dir.join("logs"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("pairctl runs");
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("pairctl| {line}");
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    Up { child, lines }
}

fn dashboard_url(up: &Up) -> String {
    let line = up.line("Dashboard at ", Duration::from_secs(60));
    line.trim_start_matches("Dashboard at ").trim().to_string()
}

/// What the page must show at the end, from the run report.
fn expected(report: &Value) -> Value {
    let cases: BTreeMap<String, String> = (report["cases"].as_array().unwrap().iter())
        .map(|c| {
            (
                c["case_id"].as_str().unwrap().into(),
                c["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut pairs: Vec<String> = (report["pairings"].as_array().unwrap().iter())
        .flat_map(|p| {
            let city = p["city"].as_str().unwrap().to_string();
            (p["provinces"].as_array().unwrap().iter())
                .map(move |d| format!("{}-{city}", d.as_str().unwrap()))
        })
        .collect();
    pairs.sort();
    // 3W rows: summed per donor, city and resource type over the cases.
    let mut rows: BTreeMap<(String, String, String), [i64; 4]> = BTreeMap::new();
    for l in report["ledger"].as_array().unwrap() {
        let key = ["province", "city", "resource_type"].map(|k| l[k].as_str().unwrap().to_string());
        let row = rows.entry(key.into()).or_default();
        for (i, f) in ["target", "shipped", "received", "in_transit"]
            .iter()
            .enumerate()
        {
            row[i] += l[f].as_i64().unwrap();
        }
    }
    let sum = |i: usize| rows.values().map(|r| r[i]).sum::<i64>();
    let short: i64 = rows.values().map(|r| (r[0] - r[2]).max(0)).sum();
    serde_json::json!({
        "cases": cases, "pairs": pairs,
        "totals": {"target": sum(0), "shipped": sum(1), "received": sum(2),
                   "short": short, "in_transit": sum(3)},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_small_run_in_a_browser() {
    let test = "the_dashboard_shows_the_small_run_in_a_browser";
    let Some(programs) = Browser::find_or_skip(test) else {
        return;
    };
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("counterpart-dashboard-{}", std::process::id()));
    let receiver = Receiver::start("127.0.0.1:0").await.expect("receiver");
    let mut up = start_up(&dir, &receiver.endpoint(), "small", "150");
    let url = dashboard_url(&up);

    let browser = Browser::start(&programs, 1280, 800).expect("headless chromium starts");
    browser.goto(&url).expect("the page loads");
    // Live: the page shows cases while the run is still going.
    browser
        .wait_for(
            "the run in progress",
            LOOK,
            Duration::from_secs(60),
            |seen| {
                seen["state"] == "running"
                    && seen["cases"].as_object().is_some_and(|c| !c.is_empty())
            },
        )
        .unwrap_or_else(|why| panic!("{why}"));

    up.line("Report written to", Duration::from_secs(120));
    let report: Value = serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap())
        .expect("report JSON");
    let want = expected(&report);
    assert!(
        want["cases"]
            .as_object()
            .unwrap()
            .values()
            .any(|s| s == "closed"),
        "the small scenario closes cases: {want}"
    );
    let seen = browser
        .wait_for("the finished run", LOOK, Duration::from_secs(30), |seen| {
            seen["state"] == "finished"
                && seen["cases"] == want["cases"]
                && seen["pairs"] == want["pairs"]
                && seen["totals"] == want["totals"]
                && seen["books"].as_str().is_some_and(|b| b.contains("agree"))
        })
        .unwrap_or_else(|why| panic!("{why}\nexpected: {want}"));
    let places: BTreeSet<&str> = (seen["places"].as_array().unwrap().iter())
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(
        places,
        BTreeSet::from(["alpha", "beta", "north", "south", "west"])
    );

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-small.png");
    browser.screenshot(&shot).expect("screenshot");
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "screenshot {shot:?}"
    );
    println!("screenshot: {}", shot.display());

    // At a phone's width the page stacks its sections: nothing wider than
    // the screen but the tables, which scroll inside their own boxes.
    browser.resize(390, 844).expect("resize");
    browser
        .wait_for(
            "a single column at phone width",
            "return { page: document.documentElement.scrollWidth, screen: window.innerWidth, \
             map: document.getElementById('map').getBoundingClientRect().width };",
            Duration::from_secs(10),
            |seen| {
                let width = |k: &str| seen[k].as_f64().unwrap_or(f64::MAX);
                width("screen") < 500.0
                    && width("page") <= width("screen")
                    && width("map") <= width("screen")
            },
        )
        .unwrap_or_else(|why| panic!("{why}"));
    let phone = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-small-phone.png");
    browser.screenshot(&phone).expect("screenshot");
    drop(browser);

    // Ctrl-C ends the dashboard; then every node has flushed its spans.
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(up.child.id() as i32, libc::SIGINT) };
    let status = up.child.wait().expect("pairctl exits");
    assert!(status.success(), "pairctl up: {status}");
    let spans = receiver
        .wait_quiet(Duration::from_secs(2), Duration::from_secs(30))
        .await;
    for (case, href) in seen["traces"].as_object().unwrap() {
        let href = href
            .as_str()
            .unwrap_or_else(|| panic!("{case} has no trace link"));
        let trace_id = href
            .strip_prefix(&format!("{JAEGER}/trace/"))
            .unwrap_or_else(|| panic!("{case}: link {href} is not into Jaeger"));
        assert!(
            spans
                .iter()
                .any(|s| s.trace_id == trace_id && s.case_id() == Some(case.as_str())),
            "{case}: no span of trace {trace_id} was exported for it"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("browser test took {:?}", started.elapsed());
}

/// The README's picture: hubei-2020 at half a second a day, taken once the
/// page shows the operation in full swing (most cases being implemented,
/// the first closed). Run by hand: `cargo test -p counterpart-tests --test
/// dashboard_browser -- --ignored`; it writes docs/dashboard-hubei-2020.png.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes the README's screenshot (docs/dashboard-hubei-2020.png)"]
async fn screenshot_of_hubei_2020_for_the_readme() {
    let Some(programs) = Browser::find_or_skip("screenshot_of_hubei_2020_for_the_readme") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!(
        "counterpart-dashboard-hubei-{}",
        std::process::id()
    ));
    let receiver = Receiver::start("127.0.0.1:0").await.expect("receiver");
    let up = start_up(&dir, &receiver.endpoint(), "hubei-2020", "500");
    let url = dashboard_url(&up);
    let browser = Browser::start(&programs, 1280, 800).expect("headless chromium starts");
    browser.goto(&url).expect("the page loads");
    browser
        .wait_for(
            "the operation in full swing",
            LOOK,
            Duration::from_secs(120),
            |seen| {
                let statuses = seen["cases"]
                    .as_object()
                    .map(|c| c.values().cloned().collect::<Vec<_>>());
                let count = |s: &str| statuses.iter().flatten().filter(|v| *v == s).count();
                seen["state"] == "running" && count("implementing") >= 10 && count("closed") >= 1
            },
        )
        .unwrap_or_else(|why| panic!("{why}"));
    let shot = counterpart_tests::repo_root().join("docs/dashboard-hubei-2020.png");
    browser.screenshot(&shot).expect("screenshot");
    println!("screenshot: {}", shot.display());
    drop(browser);
    drop(up);
    let _ = std::fs::remove_dir_all(&dir);
}
