//! The one service adapter every node's gRPC service is built on. Each
//! node used to carry its own copy of these steps; they are the same
//! steps for every protocol message, so they live here once:
//!
//! 1. open the handler's span (named and staged by the catalog's kind), a
//!    child of the caller's `traceparent`;
//! 2. check the caller (with TLS) by the role's rule; a refused caller's
//!    message marks the span and is not counted;
//! 3. count the message, for the run report;
//! 4. lock the durable machine, read the time by its clock
//!    ([`Machine::now`]), run the role's handler inside the span;
//! 5. turn a [`Refusal`] into its status ([`crate::edge::status`]) and mark
//!    the span failed;
//! 6. release the lock (which queues the change for the disk) and, for an
//!    accepted message, wait until the change is saved before answering:
//!    nobody is told of a change a crash could still undo.
//!
//! The lock is never held across an await, and the span is never entered
//! across one: steps 1-6 up to the wait run synchronously.
//!
//! What differs per role stays in the role's crate and is passed in: the
//! caller check (central checks a message's claim, which can register a
//! role; provinces and cities check the catalog's sender rule), and
//! whatever the handler closure records on the span (the province's case
//! attributes, the city's decisions and shipments, central's case
//! contexts).

use std::sync::Arc;

use counterpart_protocol::catalog::MessageKind;
use counterpart_protocol::Refusal;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};
use tracing::Span;

use crate::counters::MessageCounters;
use crate::durable::Durable;
pub use crate::machine::Machine;
pub use crate::sequencer::Concurrency;
use crate::sequencer::Sequencer;
use crate::tls::{Callers, Identity};
use crate::trace;

/// A machine's gRPC edge: the machine, the message counters, and whether
/// callers are checked.
#[derive(Debug)]
pub struct Adapter<M> {
    machine: Arc<Durable<M>>,
    counters: Arc<MessageCounters>,
    callers: Callers,
    /// An attribute every handler span of this node carries (the city
    /// names itself, `pairing.city`, on each).
    names: Option<(&'static str, Arc<str>)>,
    /// Step 4 by one task instead of each handler under the lock.
    sequencer: Option<Sequencer<M>>,
}

impl<M> Clone for Adapter<M> {
    fn clone(&self) -> Self {
        Adapter {
            machine: self.machine.clone(),
            counters: self.counters.clone(),
            callers: self.callers,
            names: self.names.clone(),
            sequencer: self.sequencer.clone(),
        }
    }
}

impl<M: Machine> Adapter<M> {
    /// An adapter that checks no caller (plain TCP).
    pub fn new(machine: Arc<Durable<M>>, counters: Arc<MessageCounters>) -> Self {
        Adapter {
            machine,
            counters,
            callers: Callers::Unchecked,
            names: None,
            sequencer: None,
        }
    }

    /// The same adapter, reaching the machine as `concurrency` says; the
    /// sequencer's task starts on the current runtime.
    pub fn with_concurrency(mut self, concurrency: Concurrency) -> Self
    where
        M: Sync,
    {
        self.sequencer = match concurrency {
            Concurrency::Lock => None,
            Concurrency::Sequencer => Some(Sequencer::start(self.machine.clone())),
        };
        self
    }

    /// The same adapter, checking every caller when `callers` says so.
    pub fn with_callers(mut self, callers: Callers) -> Self {
        self.callers = callers;
        self
    }

    /// The same adapter, setting `key` to `value` on every handler span.
    pub fn naming_spans(mut self, key: &'static str, value: &str) -> Self {
        self.names = Some((key, value.into()));
        self
    }

    pub fn machine(&self) -> &Arc<Durable<M>> {
        &self.machine
    }

    pub fn counters(&self) -> &Arc<MessageCounters> {
        &self.counters
    }

    /// Whether (and so how) callers are checked, for the role's own RPCs
    /// (queries, streams).
    pub fn callers(&self) -> Callers {
        self.callers
    }

    /// Takes in one protocol message of `kind` (steps 1-6 above): `check`
    /// says whether the verified caller may send it, `apply` runs on the
    /// machine under its lock with the present time and the handler's span
    /// (entered). A refusal becomes its status; an accepted message is
    /// answered once its change is on disk.
    pub async fn handle<Req, R>(
        &self,
        kind: &'static MessageKind,
        request: Request<Req>,
        check: impl FnOnce(&Identity, &Req) -> Result<(), Status> + Send,
        apply: impl FnOnce(&mut M, &Req, M::Now, &Span) -> Result<R, Refusal> + Send + 'static,
    ) -> Result<Response<R>, Status>
    where
        Req: Send + 'static,
        R: Send + 'static,
    {
        let (span, message) = self.take_in(kind, request, check)?;
        let answer = match &self.sequencer {
            None => {
                let _entered = span.enter();
                self.apply(kind, &span, &message, apply)
            }
            Some(sequencer) => {
                let inside = span.clone();
                let outcome = sequencer
                    .apply(move |machine: &mut M| {
                        let _entered = inside.enter();
                        let now = machine.now();
                        apply(machine, &message, now, &inside)
                    })
                    .await
                    // A stopping node or a panicked change fails the span
                    // too, like a refusal.
                    .and_then(|outcome| outcome.map_err(crate::edge::status));
                let _entered = span.enter();
                refused(kind, &span, outcome)
            }
        };
        if answer.is_ok() {
            self.machine.flushed().await;
        }
        answer.map(Response::new)
    }

    /// Steps 1-3: the span, the caller's check and the count; the message
    /// if it is let in.
    fn take_in<Req>(
        &self,
        kind: &'static MessageKind,
        request: Request<Req>,
        check: impl FnOnce(&Identity, &Req) -> Result<(), Status>,
    ) -> Result<(Span, Req), Status> {
        let span = self.server_span(kind, request.metadata());
        let _entered = span.enter();
        let allowed = match self.callers.of(&request) {
            Ok(Some(caller)) => check(&caller, request.get_ref()),
            Ok(None) => Ok(()),
            Err(status) => Err(status),
        };
        self.admit(kind, &span, allowed)?;
        drop(_entered);
        Ok((span, request.into_inner()))
    }

    /// The handler span of a message of `kind`, child of the caller's span
    /// carried in `metadata`.
    pub fn server_span(&self, kind: &MessageKind, metadata: &MetadataMap) -> Span {
        let span = trace::server_span(kind.server_span, kind.stage, metadata);
        if let Some((key, value)) = &self.names {
            trace::annotate(&span, key, value);
        }
        span
    }

    /// Step 2's outcome: a refused caller marks `span` and is not counted
    /// (its message is not one of the run's); an allowed one is counted.
    pub fn admit(
        &self,
        kind: &MessageKind,
        span: &Span,
        allowed: Result<(), Status>,
    ) -> Result<(), Status> {
        if let Err(status) = allowed {
            tracing::warn!(
                kind = kind.message,
                message = status.message(),
                "caller refused"
            );
            trace::fail(span, status.message());
            return Err(status);
        }
        self.counters.count(kind.message);
        Ok(())
    }

    /// Steps 4 and 5 for a message already admitted: runs `apply` under the
    /// machine's lock at [`Machine::now`]; a refusal becomes its status and
    /// marks `span`. The change is queued for the disk when the lock is
    /// released, here; the caller awaits [`Durable::flushed`] before
    /// answering.
    pub fn apply<Req, R>(
        &self,
        kind: &MessageKind,
        span: &Span,
        message: &Req,
        apply: impl FnOnce(&mut M, &Req, M::Now, &Span) -> Result<R, Refusal>,
    ) -> Result<R, Status> {
        let outcome = {
            let mut machine = self.machine.lock();
            let now = machine.now();
            apply(&mut machine, message, now, span).map_err(crate::edge::status)
        };
        refused(kind, span, outcome)
    }
}

/// Step 5's mark: a refused message is logged and fails its span.
fn refused<R>(kind: &MessageKind, span: &Span, outcome: Result<R, Status>) -> Result<R, Status> {
    if let Err(status) = &outcome {
        tracing::warn!(kind = kind.message, code = ?status.code(), message = status.message(), "refused");
        trace::fail(span, status.message());
    }
    outcome
}
