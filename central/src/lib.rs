//! Counterpart's central authority (being written).

pub mod assessment;
pub mod evaluation;
pub mod ledger;
pub mod pairing;
