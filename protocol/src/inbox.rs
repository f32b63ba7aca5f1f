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

/// Keys up to this many bytes are put together on the stack: every
/// message's lookup reads the memory, and a node's ids are far shorter.
const KEY_ON_STACK: usize = 160;

/// Calls `f` with [`key`]`(header)`, put together without an allocation
/// when it is short enough.
fn with_key<T>(header: &MessageHeader, f: impl FnOnce(&str) -> T) -> T {
    let (sender, id) = (header.sender_id.as_bytes(), header.message_id.as_bytes());
    let len = sender.len() + 1 + id.len();
    if len > KEY_ON_STACK {
        return f(&key(header));
    }
    let mut bytes = [0u8; KEY_ON_STACK];
    bytes[..sender.len()].copy_from_slice(sender);
    bytes[sender.len()] = b'/';
    bytes[sender.len() + 1..len].copy_from_slice(id);
    // Two strings and a '/' are UTF-8.
    f(std::str::from_utf8(&bytes[..len]).expect("a key of two strings is UTF-8"))
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
        with_key(header, |key| self.reply_for(key))
    }

    fn remember(&mut self, header: &MessageHeader, reply: R) {
        with_key(header, |key| self.record(key, reply));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(sender_id: &str, message_id: &str) -> MessageHeader {
        MessageHeader {
            sender_id: sender_id.into(),
            message_id: message_id.into(),
            ..Default::default()
        }
    }

    /// Short keys are put together on the stack, long ones formatted: both
    /// are the one key, so a message is found however long its ids.
    #[test]
    fn a_message_is_found_under_its_key_whatever_its_length() {
        let long = "m".repeat(KEY_ON_STACK);
        let mut memory = AppliedIds::new(10);
        for (sender, id) in [("wuhan", "m-1"), ("wuhan", long.as_str()), ("", "")] {
            let h = header(sender, id);
            with_key(&h, |k| assert_eq!(k, key(&h)));
            assert_eq!(memory.answered(&h), None);
            memory.remember(&h, id.len());
            assert_eq!(memory.answered(&h), Some(id.len()));
            assert_eq!(memory.reply_for(&key(&h)), Some(id.len()));
        }
        // Another sender's message with the same id is another message.
        assert_eq!(memory.answered(&header("huangshi", "m-1")), None);
    }
}
