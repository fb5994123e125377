//! The `slow_down` gate of the token claim (RFC 8628 §3.5), in memory.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use time::{Duration, OffsetDateTime};
use woo_domain::RequestId;
use woo_domain::pairing;

/// Remembers when each poller last asked for its token, to answer `slow_down` to a plugin polling
/// faster than its interval. A poller is a request id with a device code, as RFC 8628 keys it:
/// the request id is no secret (it is in the authorize URL), and someone polling with a wrong code
/// must not slow the real plugin down. Memory only: after a restart a poll is simply allowed.
const MAX_POLLERS: usize = 100_000;

#[derive(Default)]
pub struct PollGate {
    polls: Mutex<HashMap<(RequestId, String), Poll>>,
}

struct Poll {
    at: OffsetDateTime,
    interval: Duration,
}

impl PollGate {
    /// Records a poll; `false` when it came sooner than the request's interval allows. As RFC 8628
    /// §3.5 says, every `slow_down` adds five seconds to the interval.
    pub fn allow(
        &self,
        request: RequestId,
        device_code_hash: &str,
        interval_s: u32,
        now: OffsetDateTime,
    ) -> bool {
        let mut polls = self.polls.lock().unwrap_or_else(PoisonError::into_inner);
        polls.retain(|_, poll| now - poll.at < pairing::REQUEST_LIFETIME + pairing::CLAIM_GRACE);
        let base = Duration::seconds(i64::from(interval_s));
        let key = (request, device_code_hash.to_owned());
        let tracked = polls.len();
        match polls.get_mut(&key) {
            Some(poll) if now - poll.at < poll.interval => {
                poll.at = now;
                poll.interval += Duration::seconds(5);
                false
            }
            Some(poll) => {
                poll.at = now;
                true
            }
            // Past this many pollers (only a flood makes so many) new ones are not tracked.
            None if tracked >= MAX_POLLERS => true,
            None => {
                polls.insert(
                    key,
                    Poll {
                        at: now,
                        interval: base,
                    },
                );
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn polling_faster_than_the_interval_slows_the_poller_down() {
        let gate = PollGate::default();
        let request = RequestId::generate();
        let t0 = datetime!(2026-11-27 10:00 UTC);
        assert!(gate.allow(request, "code", 5, t0));
        assert!(!gate.allow(request, "code", 5, t0 + Duration::seconds(2)));
        // After a slow_down the interval is 10 s, counted from the last poll.
        assert!(!gate.allow(request, "code", 5, t0 + Duration::seconds(9)));
        assert!(gate.allow(request, "code", 5, t0 + Duration::seconds(24)));
        assert!(
            gate.allow(RequestId::generate(), "code", 5, t0),
            "requests are gated apart"
        );
        let another = gate.allow(request, "a stranger's guess", 5, t0 + Duration::seconds(25));
        assert!(
            another,
            "so are device codes: a stranger cannot slow the plugin down"
        );
    }
}
