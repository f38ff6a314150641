//! Metric labels from outside input, kept bounded: the first few distinct
//! values get their own label, the rest share `other`. A hostile caller
//! inventing service codes cannot grow the metric set without limit.

use std::collections::HashSet;
use std::sync::Mutex;

/// A first-come set of allowed label values.
pub struct BoundedLabels {
    seen: Mutex<HashSet<String>>,
    capacity: usize,
}

impl BoundedLabels {
    /// Allows up to `capacity` distinct values.
    pub fn new(capacity: usize) -> BoundedLabels {
        BoundedLabels {
            seen: Mutex::new(HashSet::new()),
            capacity,
        }
    }

    /// The label for `value`: itself while there is room, else `other`.
    pub fn label(&self, value: &str) -> String {
        // A poisoned lock only means another thread panicked mid-insert; the
        // set is still usable.
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(value) {
            return value.to_owned();
        }
        if seen.len() < self.capacity {
            seen.insert(value.to_owned());
            return value.to_owned();
        }
        "other".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_beyond_the_capacity_share_one_label() {
        let labels = BoundedLabels::new(2);
        assert_eq!(labels.label("*384*1#"), "*384*1#");
        assert_eq!(labels.label("*384*2#"), "*384*2#");
        assert_eq!(labels.label("*384*3#"), "other");
        assert_eq!(labels.label("*384*1#"), "*384*1#");
    }
}
