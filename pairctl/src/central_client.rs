//! Central's operator queries, each with a deadline, each failure turned
//! into one line that says what to check.

use std::time::Duration;

use node_kit::client::Dialer;
use node_kit::retry::{retry, RetryPolicy};
use pairing_proto::v1::central_authority_client::CentralAuthorityClient;
use pairing_proto::v1::{
    ClusterStatus, Ledger, LedgerQuery, OperationUpdate, PairingTable, PairingsQuery, ReportQuery,
    RunReport, StatusQuery, WatchQuery,
};
use tonic::transport::Channel;
use tonic::{Code, Status};

use crate::cli::{central_url, CentralArgs};

/// The run report of a big scenario lists every event of every case: allow
/// more than tonic's default of 4 MiB, as much as central sends.
pub const MAX_REPLY_BYTES: usize = node_kit::server::MAX_QUERY_REPLY_BYTES;

/// How long `GetReport` may take. The report of ten thousand cases takes
/// central 1.6-2.2 s to build and is about 90 MB (`report_query`, idle
/// machine): the standard three seconds left no margin for a loaded one.
/// The other queries keep the standard deadline.
pub const REPORT_DEADLINE: Duration = Duration::from_secs(30);

/// One attempt: an operator at a terminal wants the answer or the error
/// now, not a minute of retries.
pub const SINGLE_ATTEMPT: RetryPolicy = RetryPolicy {
    max_attempts: 1,
    initial_backoff_ms: 0,
    max_backoff_ms: 0,
};

/// A client of central's operator queries.
#[derive(Debug, Clone)]
pub struct CentralClient {
    endpoint: String,
    client: CentralAuthorityClient<Channel>,
    policy: RetryPolicy,
}

impl CentralClient {
    /// A client for `endpoint`; connects on the first call.
    pub fn new(endpoint: &str) -> anyhow::Result<Self> {
        CentralClient::via(&Dialer::default(), endpoint)
    }

    /// The client the query commands' flags ask for: central's endpoint,
    /// over TLS as the operator (or `--tls-id`) when `--tls-dir` is given.
    pub fn from_args(args: &CentralArgs) -> anyhow::Result<Self> {
        let tls = args.tls.load()?;
        CentralClient::via(&Dialer::new(tls.as_ref()), &central_url(&args.central))
    }

    /// A client for `endpoint` that connects through `dialer`.
    pub fn via(dialer: &Dialer, endpoint: &str) -> anyhow::Result<Self> {
        // The channel's cap is the longest call's deadline; each call
        // states its own.
        let channel = dialer
            .channel_with_deadline(endpoint, REPORT_DEADLINE)
            .map_err(|status| anyhow::anyhow!("{}", status.message()))?;
        Ok(CentralClient {
            endpoint: dialer.endpoint_url(endpoint),
            client: CentralAuthorityClient::new(channel).max_decoding_message_size(MAX_REPLY_BYTES),
            policy: SINGLE_ATTEMPT,
        })
    }

    /// The same client, retrying transient failures under `policy`.
    pub fn with_retries(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How this client retries, for calls made alongside its own.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub async fn status(&self) -> anyhow::Result<ClusterStatus> {
        let reply = retry(self.policy, || {
            let mut client = self.client.clone();
            async move {
                client
                    .get_status(node_kit::client::request(StatusQuery {}))
                    .await
            }
        })
        .await;
        self.answer("GetStatus", reply)
    }

    pub async fn pairings(&self) -> anyhow::Result<PairingTable> {
        let reply = retry(self.policy, || {
            let mut client = self.client.clone();
            async move {
                client
                    .list_pairings(node_kit::client::request(PairingsQuery {}))
                    .await
            }
        })
        .await;
        self.answer("ListPairings", reply)
    }

    pub async fn ledger(&self) -> anyhow::Result<Ledger> {
        let reply = retry(self.policy, || {
            let mut client = self.client.clone();
            async move {
                client
                    .get_ledger(node_kit::client::request(LedgerQuery {}))
                    .await
            }
        })
        .await;
        self.answer("GetLedger", reply)
    }

    pub async fn report(&self) -> anyhow::Result<RunReport> {
        let reply = retry(self.policy, || {
            let mut client = self.client.clone();
            async move {
                client
                    .get_report(node_kit::client::request_with_deadline(
                        ReportQuery {},
                        REPORT_DEADLINE,
                    ))
                    .await
            }
        })
        .await;
        self.answer("GetReport", reply)
    }

    /// Central's stream of the operation (`WatchOperation`), changes
    /// looked for every `interval_ms`. No deadline on the call: the stream
    /// lives as long as the run, and central's heartbeats show it alive.
    pub async fn watch(
        &self,
        interval_ms: u32,
    ) -> anyhow::Result<tonic::Streaming<OperationUpdate>> {
        let mut client = self.client.clone();
        let reply = client
            .watch_operation(tonic::Request::new(WatchQuery { interval_ms }))
            .await;
        self.answer("WatchOperation", reply)
    }

    fn answer<T>(&self, rpc: &str, reply: Result<tonic::Response<T>, Status>) -> anyhow::Result<T> {
        reply
            .map(tonic::Response::into_inner)
            .map_err(|status| anyhow::anyhow!(describe_failure(&self.endpoint, rpc, &status)))
    }
}

/// One line for a failed call: unreachable (nothing listens, or it did not
/// answer in time) reads differently from a refusal.
pub fn describe_failure(endpoint: &str, rpc: &str, status: &Status) -> String {
    match status.code() {
        Code::Unavailable => format!(
            "central at {endpoint} is unreachable ({}); is it running? (--central or PAIRING_CENTRAL)",
            first_line(status.message())
        ),
        // The client's own timeout surfaces as CANCELLED ("Timeout expired").
        Code::DeadlineExceeded | Code::Cancelled => format!(
            "central at {endpoint} did not answer {rpc} in time ({})",
            first_line(status.message())
        ),
        Code::Unimplemented => format!(
            "{endpoint} does not serve CentralAuthority.{rpc}: is it central?"
        ),
        code => format!(
            "central at {endpoint} refused {rpc}: {code:?}: {}",
            first_line(status.message())
        ),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_says_where_and_what_to_check() {
        let line = describe_failure(
            "http://127.0.0.1:1",
            "GetStatus",
            &Status::unavailable("tcp connect error\nmore detail"),
        );
        assert_eq!(
            line,
            "central at http://127.0.0.1:1 is unreachable (tcp connect error); is it running? (--central or PAIRING_CENTRAL)"
        );
    }

    #[test]
    fn a_refusal_names_the_call_and_the_code() {
        let line = describe_failure("http://c", "GetReport", &Status::not_found("no run"));
        assert_eq!(
            line,
            "central at http://c refused GetReport: NotFound: no run"
        );
        let late = describe_failure("http://c", "GetLedger", &Status::deadline_exceeded("x"));
        assert!(late.contains("GetLedger") && late.contains("in time"));
        let cut = describe_failure(
            "http://c",
            "GetStatus",
            &Status::cancelled("Timeout expired"),
        );
        assert_eq!(
            cut,
            "central at http://c did not answer GetStatus in time (Timeout expired)"
        );
    }

    #[tokio::test]
    async fn a_closed_port_fails_quickly_with_one_line() {
        // Bind then drop a listener: the port is very likely closed now.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = CentralClient::new(&format!("http://127.0.0.1:{port}")).unwrap();
        let started = std::time::Instant::now();
        let err = client.status().await.unwrap_err().to_string();
        assert!(started.elapsed() < node_kit::client::CALL_DEADLINE * 2);
        assert!(err.contains("unreachable"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn a_malformed_endpoint_is_an_error_not_a_panic() {
        assert!(CentralClient::new("http://bad host:1").is_err());
    }
}
