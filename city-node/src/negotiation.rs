//! The client side of `DonorProvince.NegotiatePlan` (protocol step 11): one
//! long-lived stream per donor; the city pushes each NeedsUpdate into it and
//! reads the donor's PlanProposal in answer.
//!
//! A stream that stops answering (no proposal within [`PROPOSAL_TIMEOUT`]),
//! fails, or reaches its deadline is dropped; the next update opens a new
//! one. Updates wait in a bounded queue: when the stream is behind, an update
//! is dropped (the next one carries the needs as they then stand).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use pairing_proto::v1::donor_province_client::DonorProvinceClient;
use pairing_proto::v1::{NeedsUpdate, PlanProposal};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::time::{timeout, timeout_at, Instant};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::Status;

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
    updates: mpsc::Sender<NeedsUpdate>,
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
    /// donor moved).
    pub fn send(&mut self, donor_id: &str, endpoint: &str, channel: Channel, update: NeedsUpdate) {
        self.streams.retain(|_, s| !s.updates.is_closed());
        let update = match self.streams.get(donor_id) {
            Some(stream) if stream.endpoint == endpoint => match stream.updates.try_send(update) {
                Ok(()) => return,
                Err(TrySendError::Full(_)) => {
                    tracing::warn!(
                        donor = donor_id,
                        "negotiation stream behind; needs update dropped"
                    );
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
    mut updates: mpsc::Receiver<NeedsUpdate>,
    on_proposal: ProposalSink,
    shutdown: CancellationToken,
) {
    let outcome = tokio::select! {
        _ = shutdown.cancelled() => return,
        outcome = converse(&mut client, &donor_id, &mut updates, &on_proposal) => outcome,
    };
    match outcome {
        Ok(()) => tracing::debug!(donor = %donor_id, "negotiation stream closed at its deadline"),
        Err(status) => tracing::warn!(
            donor = %donor_id,
            code = ?status.code(),
            message = status.message(),
            "negotiation stream dropped; the next update reopens it"
        ),
    }
}

/// One proposal per update, each within [`PROPOSAL_TIMEOUT`].
async fn converse(
    client: &mut DonorProvinceClient<Channel>,
    donor_id: &str,
    updates: &mut mpsc::Receiver<NeedsUpdate>,
    on_proposal: &ProposalSink,
) -> Result<(), Status> {
    let deadline = Instant::now() + STREAM_DEADLINE;
    let (to_donor, outgoing) = mpsc::channel(UPDATES_QUEUED);
    // The first update goes in before the call: a donor may wait for it
    // before answering the call at all.
    let first = updates
        .recv()
        .await
        .ok_or_else(|| Status::cancelled("no update to send"))?;
    to_donor
        .try_send(first)
        .expect("a new queue has room for one update");
    let request =
        node_kit::client::request_with_deadline(ReceiverStream::new(outgoing), STREAM_DEADLINE);
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
        tracing::debug!(donor = donor_id, case_id = %proposal.case_id, "plan proposal");
        on_proposal(donor_id, proposal);
        let Ok(next) = timeout_at(deadline, updates.recv()).await else {
            return Ok(()); // the deadline passed while idle
        };
        let Some(next) = next else { return Ok(()) };
        to_donor
            .send(next)
            .await
            .map_err(|_| Status::unavailable("the request stream closed"))?;
    }
}
