//! Anonymous carts (issue 14 item 2): a cart that begins before the shopper is known carries only
//! the shopper's WooCommerce session key (`t_…`, or the user id once signed in) or Store API cart
//! token. Such events are kept per store; when an event with an email carries the same key
//! (the shopper signed in or typed their email at checkout), the kept events are applied to that
//! email as if they had named it, so the tags start from the first item added.
//!
//! Order-independence: an anonymous event applies to every email that some identified event of
//! the same key names, when it lies within `WINDOW` of the hours of that email's first and last
//! identified events. That is a property of the set of events, not of their order, and applying an event
//! twice is a no-op for the last-writer-wins registers, so it does not matter which side arrives
//! first. The bounds (`RETAIN` behind the store's newest anonymous event, `PER_KEY` and
//! `PER_STORE` newest) forget what no identification arrived for; an identifying event arriving
//! later than those bounds no longer finds the cart.

use std::sync::LazyLock;

use rusqlite::{OptionalExtension, ToSql, params};
use uuid::Uuid;
use woo_domain::values::Email;
use woo_projector::BatchTx;

use super::activity::Activity;
use woo_domain::{CompanyId, IntegrationId};

/// How far apart an anonymous event and the identified events of its key may lie: WooCommerce
/// keeps a session 48 hours.
pub const WINDOW_MS: i64 = 48 * HOUR_MS;
/// A link's span is kept to whole hours: a shopper's events within an hour of each other (most of
/// a visit) then write it once, not once each. The window around it is so 48 to 49 hours.
const HOUR_MS: i64 = 3_600_000;
/// Anonymous events older than this behind the store's newest one are forgotten.
const RETAIN_MS: i64 = 7 * 24 * 3_600_000;
/// Anonymous events kept per key (one shopper's session) and per store.
const PER_KEY: usize = 32;
const PER_STORE: i64 = 10_000;

/// The keys an event names its cart by, each marked with its kind so a session key can never
/// equal a cart token: `session:t_5a8b…`, `token:eyJ0…`. A signed-in shopper's event also names
/// the guest session it replaced, so the cart begun before signing in joins them.
pub(super) fn keys(activity: &Activity) -> Vec<String> {
    [
        ("session", &activity.session_key),
        ("token", &activity.cart_token),
        ("session", &activity.previous_session_key),
    ]
    .into_iter()
    .filter(|(_, key)| !key.trim().is_empty())
    .map(|(kind, key)| format!("{kind}:{}", key.trim()))
    .collect::<std::collections::BTreeSet<_>>()
    .into_iter()
    .collect()
}

// SQLite (3.54) re-prepares a statement at every execution when it has an ORDER BY, a bound
// LIMIT or a subquery beside bound parameters, and that re-parse was about a third of a rebuild's
// CPU. So the statements below have none of these: rows are sorted here, and each bound is read
// first and then bound.

const KEEP: &str = "INSERT OR IGNORE INTO anonymous_carts
        (company_id, integration_id, cart_key, at, event_id, event_type, data)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
/// Whether an event is kept under a key.
const IS_KEPT: &str = "SELECT 1 FROM anonymous_carts
    WHERE company_id = ?1 AND integration_id = ?2 AND cart_key = ?3 AND at = ?4 AND event_id = ?5";
/// The kept events of one key, unordered (at most `PER_KEY + 1`).
const KEY_EVENTS: &str = "SELECT at, event_id FROM anonymous_carts
    WHERE company_id = ?1 AND integration_id = ?2 AND cart_key = ?3";
/// Drops a key's events up to a bound.
const TRIM_KEY: &str = "DELETE FROM anonymous_carts
    WHERE company_id = ?1 AND integration_id = ?2 AND cart_key = ?3 AND (at, event_id) <= (?4, ?5)";
/// A store's newest event and how many it keeps: the count also keeps SQLite from reading the
/// maximum by its min/max optimisation, an ORDER BY in disguise that is re-prepared each time.
const STORE: &str = "SELECT max(at), count(*) FROM anonymous_carts WHERE integration_id = ?1";
const EXPIRE: &str = "DELETE FROM anonymous_carts WHERE integration_id = ?1 AND at < ?2";
/// Only run when a store holds more than `PER_STORE` events, so its re-preparing is rare.
const TRIM_STORE: &str = "DELETE FROM anonymous_carts WHERE integration_id = ?1
    AND (at, event_id) <= (SELECT at, event_id FROM anonymous_carts WHERE integration_id = ?1
                           ORDER BY at DESC, event_id DESC LIMIT 1 OFFSET ?2)";
/// The links of an event's keys (at most 3) are made, or grow to cover the hour of an event
/// outside their span, in one statement: one search of the index per key, and an event inside the
/// span writes nothing. `LINKS[n - 1]` links `n` keys, bound from `?6` on.
static LINKS: LazyLock<[String; 3]> = LazyLock::new(|| {
    [1, 2, 3].map(|n| {
        let rows: Vec<String> = (0..n)
            .map(|k| format!("(?1, ?2, ?{}, ?3, ?4, ?5)", 6 + k))
            .collect();
        format!(
            "INSERT INTO cart_links (company_id, integration_id, cart_key, email, first_at, last_at)
            VALUES {}
            ON CONFLICT (company_id, integration_id, cart_key, email) DO UPDATE SET
                first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at)
            WHERE excluded.first_at < first_at OR excluded.last_at > last_at",
            rows.join(", ")
        )
    })
});
/// Whether the store keeps any anonymous event of the company: most never do, and then the keys'
/// kept events need no search each.
const STORE_KEEPS: &str =
    "SELECT 1 FROM anonymous_carts WHERE company_id = ?1 AND integration_id = ?2";
/// The kept events of a key (at most `PER_KEY + 1`), then, only when there are some, the span
/// they must lie near.
const KEY_KEPT: &str = "SELECT at, event_id, event_type, data FROM anonymous_carts
    WHERE company_id = ?1 AND integration_id = ?2 AND cart_key = ?3";
const SPAN: &str = "SELECT first_at, last_at FROM cart_links
    WHERE company_id = ?1 AND integration_id = ?2 AND cart_key = ?3 AND email = ?4";
const EMAILS_FOR: &str = "SELECT email FROM cart_links
    WHERE company_id = ?1 AND integration_id = ?2 AND cart_key = ?3
      AND ?4 BETWEEN first_at - ?5 AND last_at + ?5";

/// An anonymous event as kept.
pub(super) struct Anonymous {
    pub at: i64,
    pub event_id: Uuid,
    pub event_type: String,
    pub data: String,
}

/// One store's key. The tables hold the company and store ids as 16 bytes each, not as their
/// 36 characters of text: smaller rows and indexes, fewer pages written per batch.
pub(super) struct Key<'a> {
    pub company: CompanyId,
    pub integration: IntegrationId,
    pub key: &'a str,
}

impl Key<'_> {
    fn ids(&self) -> ([u8; 16], [u8; 16]) {
        (*self.company.0.as_bytes(), *self.integration.0.as_bytes())
    }
}

/// Keeps an anonymous event under `key`, then forgets what falls outside the bounds. Returns
/// whether the event is still kept (an event older than the bounds is not).
pub(super) fn remember(
    tx: &BatchTx<'_>,
    key: &Key<'_>,
    event: &Anonymous,
) -> rusqlite::Result<bool> {
    let (company, integration) = key.ids();
    tx.with(KEEP, |s| {
        s.execute(params![
            company,
            integration,
            key.key,
            event.at,
            event.event_id.as_bytes(),
            event.event_type,
            event.data
        ])
    })?;
    let mut kept: Vec<(i64, [u8; 16])> = tx.with(KEY_EVENTS, |s| {
        s.query_map(params![company, integration, key.key], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .collect()
    })?;
    if kept.len() > PER_KEY {
        kept.sort_unstable_by(|a, b| b.cmp(a));
        let (at, event_id) = &kept[PER_KEY];
        tx.with(TRIM_KEY, |s| {
            s.execute(params![company, integration, key.key, at, event_id])
        })?;
    }
    let (newest, mut in_store): (Option<i64>, i64) = tx.with(STORE, |s| {
        s.query_row(params![integration], |row| Ok((row.get(0)?, row.get(1)?)))
    })?;
    if let Some(newest) = newest {
        let expired = tx.with(EXPIRE, |s| {
            s.execute(params![integration, newest.saturating_sub(RETAIN_MS)])
        })?;
        in_store = in_store.saturating_sub(i64::try_from(expired).unwrap_or(i64::MAX));
    }
    if in_store > PER_STORE {
        tx.with(TRIM_STORE, |s| s.execute(params![integration, PER_STORE]))?;
    }
    tx.with(IS_KEPT, |s| {
        s.query_row(
            params![
                company,
                integration,
                key.key,
                event.at,
                event.event_id.as_bytes()
            ],
            |_| Ok(()),
        )
        .optional()
    })
    .map(|kept| kept.is_some())
}

/// Records that an event at `at` named `email` with each of `keys` (each link's span grows to
/// include it), and returns the kept anonymous events of those keys that belong to `email`:
/// within `WINDOW_MS` of its link with that key. An event kept under two of the keys is returned
/// twice, which applies it twice: a no-op for the registers.
pub(super) fn link(
    tx: &BatchTx<'_>,
    (company, integration): (CompanyId, IntegrationId),
    keys: &[String],
    email: &Email,
    at: i64,
) -> rusqlite::Result<Vec<Anonymous>> {
    let Some(sql) = keys.len().checked_sub(1).and_then(|n| LINKS.get(n)) else {
        return Ok(Vec::new());
    };
    let (company, integration) = (company.0.as_bytes(), integration.0.as_bytes());
    let hour = at.div_euclid(HOUR_MS).saturating_mul(HOUR_MS);
    let end = hour.saturating_add(HOUR_MS - 1);
    let email = email.as_str();
    let mut bound: Vec<&dyn ToSql> = vec![&company, &integration, &email, &hour, &end];
    bound.extend(keys.iter().map(|k| k as &dyn ToSql));
    tx.with(sql, |s| s.execute(bound.as_slice()))?;
    let keeps = tx.with(STORE_KEEPS, |s| {
        s.query_row(params![company, integration], |_| Ok(()))
            .optional()
    })?;
    let mut belong = Vec::new();
    if keeps.is_none() {
        return Ok(belong);
    }
    for key in keys {
        let mut kept: Vec<Anonymous> = tx.with(KEY_KEPT, |s| {
            s.query_map(params![company, integration, key], |row| {
                Ok(Anonymous {
                    at: row.get(0)?,
                    event_id: Uuid::from_bytes(row.get(1)?),
                    event_type: row.get(2)?,
                    data: row.get(3)?,
                })
            })?
            .collect()
        })?;
        if kept.is_empty() {
            continue;
        }
        let (first, last): (i64, i64) = tx.with(SPAN, |s| {
            s.query_row(params![company, integration, key, email], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
        })?;
        let near = first.saturating_sub(WINDOW_MS)..=last.saturating_add(WINDOW_MS);
        kept.retain(|event| near.contains(&event.at));
        belong.append(&mut kept);
    }
    belong.sort_unstable_by(|a, b| (a.at, &a.event_id).cmp(&(b.at, &b.event_id)));
    Ok(belong)
}

/// The emails an anonymous event at `at` under `key` belongs to.
pub(super) fn emails_for(
    tx: &BatchTx<'_>,
    key: &Key<'_>,
    at: i64,
) -> rusqlite::Result<Vec<String>> {
    let (company, integration) = key.ids();
    let mut emails: Vec<String> = tx.with(EMAILS_FOR, |s| {
        s.query_map(
            params![company, integration, key.key, at, WINDOW_MS],
            |row| row.get(0),
        )?
        .collect()
    })?;
    emails.sort_unstable();
    Ok(emails)
}
