//! The shared adapter and tick loop on a machine of their own: what every
//! role now relies on (a refusal keeps its code and message, every
//! admitted message is counted, a tick that changed nothing is not saved,
//! the loop dispatches what the tick returned and stops on shutdown), and
//! that with no exporter a message's span costs a check, not a span.

use std::sync::Arc;
use std::time::Duration;

use counterpart_domain::clock::Clock;
use counterpart_domain::journal::{Change, Records};
use counterpart_protocol::catalog;
use counterpart_protocol::persist::Persistent;
use counterpart_protocol::Refusal;
use node_kit::counters::MessageCounters;
use node_kit::driver::{run_ticks, Pace};
use node_kit::durable::Durable;
use node_kit::service::{Adapter, Machine};
use pairing_proto::v1::Assignment;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request};

/// A machine that counts what it is asked, and whether it was asked for
/// its changes.
#[derive(Debug, Default)]
struct Counter {
    taken: u32,
    ticks: u32,
    tick_changed: bool,
}

impl Persistent for Counter {
    fn take_changes(&mut self) -> Result<Vec<Change>, String> {
        self.taken += 1;
        Ok(Vec::new())
    }
    fn records(&self) -> Result<Records, String> {
        Ok(Records::new())
    }
}

impl Machine for Counter {
    type Now = u32;
    fn clock(&self) -> Option<Clock> {
        None
    }
    fn now(&self) -> u32 {
        7
    }
    fn last_tick_changed(&self) -> bool {
        self.tick_changed
    }
}

fn adapter() -> Adapter<Counter> {
    Adapter::new(
        Arc::new(Durable::in_memory(Counter::default())),
        Arc::new(MessageCounters::default()),
    )
}

#[tokio::test]
async fn a_message_is_counted_and_handled_at_the_machines_time() {
    let adapter = adapter();
    let kind = &catalog::ASSIGNMENT;
    let answer = adapter
        .handle(
            kind,
            Request::new(Assignment::default()),
            |_, _| Ok(()),
            |_, _, now, _| Ok(now),
        )
        .await
        .unwrap();
    assert_eq!(answer.into_inner(), 7);
    assert_eq!(adapter.counters().snapshot()[kind.message], 1);
}

#[tokio::test]
async fn a_refusal_leaves_as_its_status_and_the_message_still_counts() {
    let adapter = adapter();
    let kind = &catalog::ASSIGNMENT;
    let status = adapter
        .handle(
            kind,
            Request::new(Assignment::default()),
            |_, _| Ok(()),
            |_, _, _, _| Err::<(), _>(Refusal::not_found("no such case")),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "no such case");
    assert_eq!(adapter.counters().snapshot()[kind.message], 1);
}

#[tokio::test]
async fn the_loop_dispatches_each_tick_and_saves_only_a_tick_that_changed() {
    let machine = Durable::in_memory(Counter::default());
    let shutdown = CancellationToken::new();
    let mut sent = Vec::new();
    let tick = |m: &mut Counter| {
        m.ticks += 1;
        // Every other tick changes something; the first finds the machine
        // not ticking yet.
        m.tick_changed = m.ticks.is_multiple_of(2);
        (m.ticks > 1).then(|| vec![m.ticks])
    };
    let stop = shutdown.clone();
    let dispatch = |n: u32| {
        sent.push(n);
        if n == 5 {
            stop.cancel();
        }
    };
    let pace = Pace::Every(Duration::from_millis(1));
    let courier = node_kit::courier::Courier::new(shutdown.clone());
    tokio::time::timeout(
        Duration::from_secs(10),
        run_ticks(&machine, pace, &shutdown, &courier, tick, dispatch),
    )
    .await
    .expect("the loop stops on shutdown");
    assert_eq!(sent, [2, 3, 4, 5]);
    // Ticks 2 and 4 changed something; 1, 3 and 5 were released unchanged.
    assert_eq!(machine.read().taken, 2);
}

/// With no exporter and logs at `info`, nothing in a node's subscriber
/// takes a handler's span, so none is made; with debug lines on, the log
/// layer takes it. (Its own binary's dispatchers only: a callsite's
/// interest is shared by every subscriber alive in the process.)
#[test]
fn with_no_exporter_a_handlers_span_is_made_only_for_debug_logs() {
    use node_kit::trace::{server_span, Stage};
    use tonic::metadata::MetadataMap;
    use tracing_subscriber::EnvFilter;

    for (directives, made) in [("info", false), ("debug", true)] {
        let subscriber =
            node_kit::telemetry::logging(EnvFilter::new(directives), std::io::sink, false);
        tracing::subscriber::with_default(subscriber, || {
            let span = server_span("central.report", Stage::Implementation, &MetadataMap::new());
            assert_eq!(!span.is_disabled(), made, "logs at {directives}");
        });
    }
}
