//! Test fixtures. The recipient machine's (a small scenario built in code,
//! and helpers that drive the machine through a case) live beside the
//! machine in `counterpart_protocol::recipient::testing` and are re-exported
//! here; `otel` records spans and `peers` fakes central and the donors.

pub use counterpart_protocol::recipient::testing::*;

pub mod otel;
pub mod peers;
