//! How a state machine is written down: as journal records.
//!
//! The machines say *what* changed; `node_kit::durable` decides *how* it
//! reaches the disk (a SQLite journal, a writer thread, group commit).

pub mod small;

use counterpart_domain::journal::{Change, Records};

/// A machine that can be written down as records.
pub trait Persistent {
    /// The records changed since the last call (or since the machine was
    /// made or restored): empty when nothing durable changed.
    fn take_changes(&mut self) -> Result<Vec<Change>, String>;

    /// Every record of the machine: what restoring it needs.
    fn records(&self) -> Result<Records, String>;

    /// Forgets what changed, for a machine kept in memory only, so its
    /// marks of unsaved records never pile up; a machine whose marks
    /// cannot grow may leave it empty.
    fn discard_changes(&mut self) {
        let _ = self.take_changes();
    }
}
