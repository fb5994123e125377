//! Leases on the commands handed to a plugin, in memory.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use time::{Duration, OffsetDateTime};
use woo_domain::SyncId;

/// How long a command handed to the plugin stays its own before it is offered again.
pub const COMMAND_LEASE: Duration = Duration::seconds(120);

/// Commands handed out and not yet acknowledged, with when their lease ends. Memory only: after a
/// restart a waiting command is simply offered again, which the plugin must take in its stride
/// anyway (acknowledgements are idempotent).
#[derive(Default)]
pub struct Leases {
    leased: Mutex<HashMap<SyncId, OffsetDateTime>>,
}

impl Leases {
    /// Leases the command to the caller unless someone holds an unexpired lease on it; the end of
    /// the new lease, or `None`.
    pub fn take(&self, sync: SyncId, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let mut leased = self.leased.lock().unwrap_or_else(PoisonError::into_inner);
        leased.retain(|_, until| *until > now - COMMAND_LEASE);
        match leased.get(&sync) {
            Some(until) if *until > now => None,
            _ => {
                let until = now + COMMAND_LEASE;
                leased.insert(sync, until);
                Some(until)
            }
        }
    }

    pub fn release(&self, sync: SyncId) {
        self.leased
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&sync);
    }
}
