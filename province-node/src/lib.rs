//! Counterpart's donor province (docs/PROTOCOL.md steps 1, 3, 8-12, 14, 15,
//! 17): it registers with central, reports its capacity, acknowledges
//! assignments, ships personnel, materials and funds drawn from its
//! prefecture-level cities, negotiates plans with its recipient city,
//! reports, and stands down when demobilised or released.
//!
//! - [`donor`]: the protocol state machine, free of I/O: messages and
//!   scenario time in, replies and messages to send out.
//! - [`planner`]: the pool per prefecture and what each shipment carries.
//! - [`outbound`]: the messages the machine wants sent, and their keys.

pub mod donor;
pub mod outbound;
pub mod planner;
