//! One inbox rule for every role: a message is applied once per (sender,
//! message id), and a resend gets the first answer.
//!
//! The memory itself is `counterpart_domain::applied::AppliedIds` (bounded,
//! journaled); this module owns the one key it is read and written under,
//! which each role spelled out for itself before.

use counterpart_domain::applied::AppliedIds;
use pairing_proto::v1::MessageHeader;

/// The key a message is remembered under: its sender and its id, so two
/// senders' ids never collide.
pub fn key(header: &MessageHeader) -> String {
    format!("{}/{}", header.sender_id, header.message_id)
}

/// Reading and writing the memory by message header.
pub trait Inbox<R> {
    /// The answer given when this message was first applied, if it was.
    fn answered(&self, header: &MessageHeader) -> Option<R>;
    /// Remembers that this message was applied and answered with `reply`.
    fn remember(&mut self, header: &MessageHeader, reply: R);
}

impl<R: Clone> Inbox<R> for AppliedIds<R> {
    fn answered(&self, header: &MessageHeader) -> Option<R> {
        self.reply_for(&key(header))
    }

    fn remember(&mut self, header: &MessageHeader, reply: R) {
        self.record(&key(header), reply);
    }
}
