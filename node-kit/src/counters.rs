//! Messages received, by kind (the RPC's message name), for the run report.

use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct MessageCounters {
    by_kind: Mutex<BTreeMap<String, u64>>,
}

impl MessageCounters {
    pub fn count(&self, kind: &str) {
        let mut map = self.by_kind.lock().expect("counter lock poisoned");
        *map.entry(kind.to_string()).or_insert(0) += 1;
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.by_kind.lock().expect("counter lock poisoned").clone()
    }
}
