//! The client side of `DonorProvince.NegotiatePlan` (protocol step 11): one
//! long-lived stream per donor; the city pushes each NeedsUpdate into it and
//! reads the donor's PlanProposal in answer.
//!
//! A stream that stops answering (no proposal within [`PROPOSAL_TIMEOUT`]),
//! fails, or reaches its deadline is dropped; the next update opens a new
//! one. Updates wait in a bounded queue: when the stream is behind, an update
//! is dropped (the next one carries the needs as they then stand).
//!
//! Each update travels with its `city.negotiate` span, which lasts until the
//! donor answers it and is marked as an error if the update is dropped or
//! the stream fails before the answer. The stream is opened inside its
//! first update's span, so the donor's side of the stream joins that trace.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use node_kit::trace;
use pairing_proto::v1::donor_province_client::DonorProvinceClient;
use pairing_proto::v1::{NeedsUpdate, PlanProposal};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::{timeout, timeout_at, Instant};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::Status;
use tracing::Span;

/// Wall time a donor has to answer an update with a proposal.
pub const PROPOSAL_TIMEOUT: Duration = Duration::from_secs(5);
/// Deadline of one stream: after it the stream is closed and reopened by the
/// next update, like every remote call, it does not run unbounded.
pub const STREAM_DEADLINE: Duration = Duration::from_secs(600);
/// Updates waiting to go into one stream.
pub const UPDATES_QUEUED: usize = 4;

/// Where proposals go: the donor id and its proposal.
pub type ProposalSink = Arc<dyn Fn(&str, PlanProposal) + Send + Sync>;

/// The city's negotiation streams, one per donor.
pub struct Negotiations {
    streams: HashMap<String, Stream>,
    on_proposal: ProposalSink,
    shutdown: CancellationToken,
}

struct Stream {
    endpoint: String,
    updates: mpsc::Sender<TracedUpdate>,
}

/// A NeedsUpdate and its sender's span.
struct TracedUpdate {
    update: NeedsUpdate,
    span: Span,
}

impl Negotiations {
    pub fn new(on_proposal: ProposalSink, shutdown: CancellationToken) -> Self {
        Negotiations {
            streams: HashMap::new(),
            on_proposal,
            shutdown,
        }
    }

    /// Pushes `update` into the stream to `donor_id` at `endpoint`, opening
    /// the stream over `channel` if there is none (or it closed, or the
    /// donor moved). `span` is the update's: it ends when the donor answers.
    pub fn send(
        &mut self,
        donor_id: &str,
        endpoint: &str,
        channel: Channel,
        update: NeedsUpdate,
        span: Span,
    ) {
        self.streams.retain(|_, s| !s.updates.is_closed());
        let update = TracedUpdate { update, span };
        let update = match self.streams.get(donor_id) {
            Some(stream) if stream.endpoint == endpoint => match stream.updates.try_send(update) {
                Ok(()) => return,
                Err(TrySendError::Full(dropped)) => {
                    const BEHIND: &str = "negotiation stream behind; needs update dropped";
                    trace::fail(&dropped.span, BEHIND);
                    tracing::warn!(donor = donor_id, "{BEHIND}");
                    return;
                }
                Err(TrySendError::Closed(update)) => update,
            },
            _ => update,
        };
        let (updates, queued) = mpsc::channel(UPDATES_QUEUED);
        updates
            .try_send(update)
            .expect("a new queue has room for one update");
        tokio::spawn(negotiate(
            DonorProvinceClient::new(channel),
            donor_id.to_string(),
            queued,
            self.on_proposal.clone(),
            self.shutdown.clone(),
        ));
        let stream = Stream {
            endpoint: endpoint.to_string(),
            updates,
        };
        self.streams.insert(donor_id.to_string(), stream);
    }
}

/// Runs one stream until it fails, its deadline passes, or the node stops.
async fn negotiate(
    mut client: DonorProvinceClient<Channel>,
    donor_id: String,
    mut updates: mpsc::Receiver<TracedUpdate>,
    on_proposal: ProposalSink,
    shutdown: CancellationToken,
) {
    // The span of the update the donor has yet to answer.
    let mut awaiting = Span::none();
    let conversation = converse(
        &mut client,
        &donor_id,
        &mut updates,
        &on_proposal,
        &mut awaiting,
    );
    let outcome = tokio::select! {
        _ = shutdown.cancelled() => return,
        outcome = conversation => outcome,
    };
    match outcome {
        Ok(()) => tracing::debug!(donor = %donor_id, "negotiation stream closed at its deadline"),
        Err(status) => {
            tracing::warn!(
                donor = %donor_id,
                code = ?status.code(),
                message = status.message(),
                "negotiation stream dropped; the next update reopens it"
            );
            trace::fail(&awaiting, status.message());
        }
    }
    // Updates still queued go with the stream: the next update reopens it.
    updates.close();
    while let Ok(lost) = updates.try_recv() {
        trace::fail(
            &lost.span,
            "negotiation stream closed before this update went out",
        );
    }
}

/// One proposal per update, each within [`PROPOSAL_TIMEOUT`]; `awaiting`
/// holds the span of the update the donor has yet to answer.
async fn converse(
    client: &mut DonorProvinceClient<Channel>,
    donor_id: &str,
    updates: &mut mpsc::Receiver<TracedUpdate>,
    on_proposal: &ProposalSink,
    awaiting: &mut Span,
) -> Result<(), Status> {
    let deadline = Instant::now() + STREAM_DEADLINE;
    let (to_donor, outgoing) = mpsc::channel(UPDATES_QUEUED);
    // The first update goes in before the call: a donor may wait for it
    // before answering the call at all.
    let first = updates
        .recv()
        .await
        .ok_or_else(|| Status::cancelled("no update to send"))?;
    *awaiting = first.span;
    let me = first
        .update
        .header
        .as_ref()
        .map_or_else(String::new, |h| h.sender_id.clone());
    to_donor
        .try_send(first.update)
        .expect("a new queue has room for one update");
    // Opened in the first update's span: its metadata carries that context.
    let request = awaiting.in_scope(|| {
        node_kit::client::request_from_with_deadline(
            &me,
            ReceiverStream::new(outgoing),
            STREAM_DEADLINE,
        )
    });
    let mut proposals = timeout(PROPOSAL_TIMEOUT, client.negotiate_plan(request))
        .await
        .map_err(|_| Status::deadline_exceeded("the donor did not open the stream in time"))??
        .into_inner();
    loop {
        let proposal = timeout(PROPOSAL_TIMEOUT, proposals.message())
            .await
            .map_err(|_| {
                Status::deadline_exceeded(format!("no proposal within {PROPOSAL_TIMEOUT:?}"))
            })??
            .ok_or_else(|| Status::unavailable("the donor ended the stream"))?;
        awaiting.in_scope(|| {
            tracing::debug!(donor = donor_id, case_id = %proposal.case_id, "plan proposal");
        });
        // Answered: the update's span ends here.
        *awaiting = Span::none();
        on_proposal(donor_id, proposal);
        let Ok(next) = timeout_at(deadline, updates.recv()).await else {
            return Ok(()); // the deadline passed while idle
        };
        let Some(next) = next else { return Ok(()) };
        *awaiting = next.span;
        to_donor
            .send(next.update)
            .await
            .map_err(|_| Status::unavailable("the request stream closed"))?;
    }
}

/// One update in a stream of its own, answered by one proposal: how the
/// city negotiates under the lockstep clock, where each message is
/// delivered and answered before the next goes (the courier retries it
/// like any call; the donor takes a resent update once).
pub async fn negotiate_once(
    mut client: DonorProvinceClient<Channel>,
    sender: Arc<str>,
    update: NeedsUpdate,
) -> Result<tonic::Response<PlanProposal>, Status> {
    let (tx, rx) = mpsc::channel(1);
    tx.send(update)
        .await
        .map_err(|_| Status::internal("the update's stream closed before it was sent"))?;
    drop(tx);
    let request = node_kit::client::request_from(&sender, ReceiverStream::new(rx));
    let mut proposals = client.negotiate_plan(request).await?.into_inner();
    let answer = timeout(PROPOSAL_TIMEOUT, proposals.message())
        .await
        .map_err(|_| Status::deadline_exceeded("the donor did not answer the update"))??;
    answer
        .map(tonic::Response::new)
        .ok_or_else(|| Status::unavailable("the donor closed the stream without a proposal"))
}
