//! Why a subscriber holds a tag or not: the latest writes to each tag register (the event, its
//! type, when, and the order number when an order decided it), so a page can say "in checkout
//! since 10:05 by checkout_started; cart cleared by order #1234 at 10:10".
//!
//! Every write is kept, whether or not it won the register, and only the `KEPT` newest by
//! `(at, event_id)` stay: that set depends on which events arrived, never on their order or how
//! often they repeat, so rebuilds and out-of-order deliveries leave the same rows.

use rusqlite::{Connection, Transaction, params};
use serde::Serialize;
use time::OffsetDateTime;
use woo_domain::CompanyId;
use woo_domain::values::Email;

use crate::decode::from_millis;

use super::{IN_CART, IN_CHECKOUT};

/// Writes kept per subscriber and tag: enough for the last few carts, checkouts and orders.
pub const KEPT: usize = 8;

/// One event that set or cleared a tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TagWrite {
    pub tag: &'static str,
    /// `true` when the event set the tag, `false` when it cleared it.
    pub set: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub event_type: String,
    pub event_id: String,
    /// The number the merchant knows the order by, when an order decided the tag.
    pub order_number: Option<String>,
    /// The event came before the shopper was known (an anonymous cart joined to them later).
    pub stitched: bool,
}

/// What a write to a tag register says about its event.
pub(super) struct Cause<'a> {
    pub at: i64,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub order_number: Option<&'a str>,
    pub stitched: bool,
}

/// Keeps `cause` in the history of `tag` and drops what falls beyond the `KEPT` newest.
pub(super) fn record(
    tx: &Transaction<'_>,
    company: CompanyId,
    email: &Email,
    tag: &'static str,
    set: bool,
    cause: &Cause<'_>,
) -> rusqlite::Result<()> {
    let company = company.to_string();
    tx.prepare_cached(
        "INSERT OR IGNORE INTO subscriber_tag_history
             (company_id, email, tag, at, event_id, event_type, tag_set, order_number, stitched)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        company,
        email.as_str(),
        tag,
        cause.at,
        cause.event_id,
        cause.event_type,
        set,
        cause.order_number,
        cause.stitched
    ])?;
    // SQLite (3.54) re-prepares a statement at every execution when it has an ORDER BY, a bound
    // LIMIT or a subquery beside bound parameters, and that re-parse was about a third of a
    // rebuild's CPU; so the at most `KEPT + 1` writes are read unordered and sorted here, and
    // what falls beyond the `KEPT` newest is deleted by its bound.
    let mut kept: Vec<(i64, String)> = tx
        .prepare_cached(
            "SELECT at, event_id FROM subscriber_tag_history
             WHERE company_id = ?1 AND email = ?2 AND tag = ?3",
        )?
        .query_map(params![company, email.as_str(), tag], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    if kept.len() <= KEPT {
        return Ok(());
    }
    kept.sort_unstable_by(|a, b| b.cmp(a));
    let (at, event_id) = &kept[KEPT];
    tx.prepare_cached(
        "DELETE FROM subscriber_tag_history
         WHERE company_id = ?1 AND email = ?2 AND tag = ?3 AND (at, event_id) <= (?4, ?5)",
    )?
    .execute(params![company, email.as_str(), tag, at, event_id])?;
    Ok(())
}

/// A subscriber's kept tag writes, per tag, oldest first.
pub(super) fn read(
    conn: &Connection,
    company: CompanyId,
    email: &str,
) -> rusqlite::Result<Vec<TagWrite>> {
    let mut stmt = conn.prepare_cached(
        "SELECT tag, tag_set, at, event_type, event_id, order_number, stitched FROM subscriber_tag_history
         WHERE company_id = ?1 AND email = ?2 ORDER BY tag, at, event_id",
    )?;
    let rows = stmt.query_map(params![company.to_string(), email], |row| {
        let tag: String = row.get(0)?;
        Ok(TagWrite {
            tag: if tag == IN_CART { IN_CART } else { IN_CHECKOUT },
            set: row.get(1)?,
            at: from_millis(row.get(2)?),
            event_type: row.get(3)?,
            event_id: row.get(4)?,
            order_number: row.get(5)?,
            stitched: row.get(6)?,
        })
    })?;
    rows.collect()
}
