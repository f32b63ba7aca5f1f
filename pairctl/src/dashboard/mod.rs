//! The live dashboard: a web page of the operation (map, cases, ledger,
//! evaluations and messages) served by pairctl itself, fed by central's
//! `WatchOperation` stream and passed on to the browser as server-sent
//! events. No build step and nothing fetched from elsewhere: the page's
//! HTML, CSS and JavaScript modules are compiled into the binary.
//!
//! - [`board`]: central's updates folded into one model, and the patches
//!   every open page receives.
//! - this module: the HTTP server (axum) and the feed from central, which
//!   reconnects when the stream breaks.

pub mod board;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::central_client::CentralClient;
pub use board::Board;

/// Where a case's trace link points unless told: Jaeger's UI on this
/// machine (the compose file's and the README's).
pub const DEFAULT_JAEGER_URL: &str = "http://127.0.0.1:16686";
/// How often central looks for changes for the dashboard.
pub const WATCH_INTERVAL_MS: u32 = 250;
/// Central sends a heartbeat every 5 s: a stream silent for this long is
/// taken for dead and opened again.
pub const STREAM_SILENCE_LIMIT: Duration = Duration::from_secs(15);
/// Between attempts to reach central again.
const RECONNECT_BACKOFF: std::ops::Range<Duration> =
    Duration::from_millis(200)..Duration::from_secs(2);

/// A dashboard serving on `url`; it stops with `shutdown`.
#[derive(Debug)]
pub struct RunningDashboard {
    pub url: String,
    pub board: Arc<Board>,
    pub shutdown: CancellationToken,
    server: tokio::task::JoinHandle<()>,
}

impl RunningDashboard {
    /// Binds `listen` (host:port; port 0 picks one) and serves the page.
    pub async fn start(listen: &str, central: &str, jaeger_url: &str) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("dashboard: cannot listen on {listen}"))?;
        let addr: SocketAddr = listener.local_addr()?;
        let board = Arc::new(Board::new(central, jaeger_url));
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone().cancelled_owned();
        let app = router(board.clone(), shutdown.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
            {
                eprintln!("pairctl: dashboard server: {e}");
            }
        });
        Ok(RunningDashboard {
            url: format!("http://{addr}/"),
            board,
            shutdown,
            server,
        })
    }

    /// Feeds the board from `central` until the dashboard stops.
    pub fn follow(&self, central: CentralClient) {
        tokio::spawn(feed(central, self.board.clone(), self.shutdown.clone()));
    }

    /// Waits, at most `limit`, until the board has central's word that the
    /// run finished. Central's stream carries that word a little after its
    /// status says so: a launcher that stopped the nodes on the status
    /// alone could leave the page on "down" instead of "finished".
    pub async fn await_finished(&self, limit: Duration) -> bool {
        let seen = || !self.board.model()["finished_at"].is_null();
        let waited = tokio::time::timeout(limit, async {
            while !seen() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        waited.await.is_ok()
    }

    /// Stops serving; open pages keep what they show.
    pub async fn stop(self) {
        self.shutdown.cancel();
        // Open event streams end with the server's shutdown; bounded anyway.
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server).await;
    }
}

/// Follows central's stream into `board`, opening it again whenever it
/// breaks (central restarted, or gone at the end of a run: the board keeps
/// its last picture and says the link is down).
async fn feed(central: CentralClient, board: Arc<Board>, shutdown: CancellationToken) {
    let mut backoff = RECONNECT_BACKOFF.start;
    loop {
        let outcome = tokio::select! {
            _ = shutdown.cancelled() => return,
            outcome = follow_once(&central, &board) => outcome,
        };
        let why = match outcome {
            Ok(()) => "central ended the stream".to_string(),
            Err(e) => format!("{e:#}"),
        };
        board.set_link(&format!("lost: {why}"));
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(RECONNECT_BACKOFF.end);
    }
}

async fn follow_once(central: &CentralClient, board: &Board) -> anyhow::Result<()> {
    let mut stream = central.watch(WATCH_INTERVAL_MS).await?;
    board.set_link("connected");
    loop {
        match tokio::time::timeout(STREAM_SILENCE_LIMIT, stream.message()).await {
            Err(_) => anyhow::bail!(
                "central sent nothing for {} s",
                STREAM_SILENCE_LIMIT.as_secs()
            ),
            Ok(Ok(Some(update))) => board.apply(&update),
            Ok(Ok(None)) => return Ok(()),
            Ok(Err(status)) => anyhow::bail!("{}", status.message()),
        }
    }
}

/// The page's files, compiled in.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("assets/index.html"),
    ),
    (
        "/style.css",
        "text/css; charset=utf-8",
        include_str!("assets/style.css"),
    ),
    (
        "/main.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/main.js"),
    ),
    (
        "/model.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/model.js"),
    ),
    (
        "/map.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/map.js"),
    ),
    (
        "/cases.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/cases.js"),
    ),
    (
        "/ledger.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/ledger.js"),
    ),
    (
        "/activity.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/activity.js"),
    ),
];

/// What every handler reads.
#[derive(Debug, Clone)]
struct Shared {
    board: Arc<Board>,
    shutdown: CancellationToken,
}

fn router(board: Arc<Board>, shutdown: CancellationToken) -> Router {
    let mut app = Router::new()
        .route("/events", get(events))
        .route("/model.json", get(model));
    for &(path, content_type, body) in ASSETS {
        app = app.route(
            path,
            get(move || async move { ([(header::CONTENT_TYPE, content_type)], body) }),
        );
    }
    app.with_state(Shared { board, shutdown })
}

async fn model(State(shared): State<Shared>) -> Response {
    axum::Json(shared.board.model()).into_response()
}

/// Events queued per page between the board and the connection.
const PAGE_EVENTS: usize = 16;

/// The page's event stream: the whole model once, then every patch, until
/// the dashboard stops. A page too slow to keep up (its queue of
/// [`board::PAGE_QUEUE`] patches overflowed) is sent the whole model again
/// rather than a picture with holes.
async fn events(
    State(shared): State<Shared>,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let (snapshot, mut patches) = shared.board.subscribe();
    let (tx, rx) = mpsc::channel(PAGE_EVENTS);
    tokio::spawn(async move {
        let mut next = Event::default().event("snapshot").data(snapshot);
        loop {
            tokio::select! {
                _ = shared.shutdown.cancelled() => return,
                sent = tx.send(next) => if sent.is_err() {
                    return; // the page went away
                },
            }
            let patch = tokio::select! {
                _ = shared.shutdown.cancelled() => return,
                patch = patches.recv() => patch,
            };
            next = match patch {
                Ok(patch) => Event::default().event("patch").data(patch),
                Err(RecvError::Lagged(_)) => Event::default()
                    .event("snapshot")
                    .data(shared.board.model().to_string()),
                Err(RecvError::Closed) => return,
            };
        }
    });
    Sse::new(ReceiverStream::new(rx).map(Ok)).keep_alive(KeepAlive::default())
}
