//! A company's subscribers a page at a time, in email order, both ways: narrowed by an email
//! prefix and by a tag. The tag lives in the `subscriber_tags` read model; both sit in the same
//! database, so one query joins them instead of paging one and filtering the other (which loses
//! matches past the first page). `subscriber_tags` keys the company by its 16 bytes, so the join
//! binds them beside the text this table keys it by.

use rusqlite::{Connection, params};
use woo_domain::CompanyId;

use super::LISTED;

/// Which subscribers a page holds.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Emails starting with this (lower case); empty for all.
    pub prefix: String,
    /// `ecommerce.in_cart` or `ecommerce.in_checkout`; any other tag matches nobody.
    pub tag: Option<String>,
}

/// Where a page starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Keyset {
    First,
    /// The emails after this one.
    After(String),
    /// The emails before this one (the page before).
    Before(String),
}

/// A page of emails in email order, with the cursors of the pages around it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    pub emails: Vec<String>,
    /// Pass as `Keyset::Before` for the page before; `None` on the first.
    pub before: Option<String>,
    /// Pass as `Keyset::After` for the page after; `None` on the last.
    pub after: Option<String>,
}

fn fetch(
    conn: &Connection,
    company: CompanyId,
    filter: &Filter,
    cursor: &str,
    forwards: bool,
    limit: usize,
) -> rusqlite::Result<Vec<String>> {
    let (compare, order) = if forwards {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT s.email FROM subscribers s
         WHERE s.company_id = ?1 AND substr(s.email, 1, length(?2)) = ?2 AND {LISTED}
           AND (?3 IS NULL OR EXISTS (
                SELECT 1 FROM subscriber_tags t WHERE t.company_id = ?6 AND t.email = s.email
                  AND ((?3 = 'ecommerce.in_cart' AND t.in_cart = 1)
                    OR (?3 = 'ecommerce.in_checkout' AND t.in_checkout = 1))))
           AND s.email {compare} ?4
         ORDER BY s.email {order} LIMIT ?5"
    ))?;
    stmt.query_map(
        params![
            company.to_string(),
            filter.prefix,
            filter.tag,
            cursor,
            i64::try_from(limit).unwrap_or(i64::MAX),
            company.0.as_bytes()
        ],
        |r| r.get(0),
    )?
    .collect()
}

/// At most `limit` subscriber emails of a company matching `filter`, from `keyset` on.
pub fn page(
    conn: &Connection,
    company: CompanyId,
    filter: &Filter,
    keyset: &Keyset,
    limit: usize,
) -> rusqlite::Result<Listing> {
    let limit = limit.max(1);
    let (mut emails, forwards) = match keyset {
        Keyset::First => (fetch(conn, company, filter, "", true, limit + 1)?, true),
        Keyset::After(c) => (fetch(conn, company, filter, c, true, limit + 1)?, true),
        Keyset::Before(c) => (fetch(conn, company, filter, c, false, limit + 1)?, false),
    };
    let more = emails.len() > limit;
    emails.truncate(limit);
    if !forwards {
        emails.reverse();
    }
    let (Some(first), Some(last)) = (emails.first().cloned(), emails.last().cloned()) else {
        return Ok(Listing::default());
    };
    let before = if forwards {
        !fetch(conn, company, filter, &first, false, 1)?.is_empty()
    } else {
        more
    };
    let after = if forwards {
        more
    } else {
        !fetch(conn, company, filter, &last, true, 1)?.is_empty()
    };
    Ok(Listing {
        emails,
        before: before.then_some(first),
        after: after.then_some(last),
    })
}
