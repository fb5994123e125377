//! What the pages, the admin API and the recovery links read: a subscriber's tags with why they
//! hold them, the current cart, and the emails holding a tag.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use time::OffsetDateTime;
use woo_domain::CompanyId;

use crate::decode::from_millis;

use super::history::{History, TagWrite};
use super::{IN_CART, IN_CHECKOUT};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CartItem {
    pub product_id: u64,
    pub name: String,
    pub quantity: String,
}

/// The cart a recovery email shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CurrentCart {
    pub items: Vec<CartItem>,
    pub value: Option<String>,
    pub currency: Option<String>,
    pub token: Option<String>,
    pub checkout_url: Option<String>,
    /// The store the cart is in.
    pub integration_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tags {
    pub tags: Vec<&'static str>,
    pub cart: Option<CurrentCart>,
    /// The kept writes of each tag, per tag, oldest first: why the subscriber holds it or not.
    pub history: Vec<TagWrite>,
}

impl Tags {
    /// The write that began the current run of `tag`'s value (the first of the newest writes that
    /// agree with the last): since when, and by what, the subscriber holds the tag or not.
    /// Bounded by the kept history: a run longer than it starts at its oldest kept write.
    pub fn since(&self, tag: &str) -> Option<&TagWrite> {
        let mut writes = self.history.iter().filter(|w| w.tag == tag).rev();
        let last = writes.next()?;
        Some(
            writes
                .take_while(|w| w.set == last.set)
                .last()
                .unwrap_or(last),
        )
    }
}

/// The store (integration id) whose event set a subscriber's current cart, if any.
pub fn cart_store(
    conn: &Connection,
    company: CompanyId,
    email: &str,
) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT integration_id FROM subscriber_tags WHERE company_id = ?1 AND email = ?2",
        params![company.0.as_bytes(), email],
        |row| row.get::<_, Option<String>>(0),
    )
    .optional()
    .map(Option::flatten)
}

/// A subscriber's tags and current cart; `None` when no cart, checkout or order touched them.
pub fn get(conn: &Connection, company: CompanyId, email: &str) -> rusqlite::Result<Option<Tags>> {
    conn.prepare_cached(
        "SELECT in_cart, in_checkout, cart_items, cart_value, cart_currency, cart_token, checkout_url, cart_at,
                integration_id, history
         FROM subscriber_tags WHERE company_id = ?1 AND email = ?2",
    )?
    .query_row(params![company.0.as_bytes(), email], |row| {
        let mut tags = Vec::new();
        if row.get::<_, bool>(0)? {
            tags.push(IN_CART);
        }
        if row.get::<_, bool>(1)? {
            tags.push(IN_CHECKOUT);
        }
        let items: Option<String> = row.get(2)?;
        let cart = match (items, row.get::<_, Option<i64>>(7)?) {
            (Some(items), Some(at)) => Some(CurrentCart {
                items: serde_json::from_str(&items).unwrap_or_default(),
                value: row.get(3)?,
                currency: row.get(4)?,
                token: row.get(5)?,
                checkout_url: row.get(6)?,
                integration_id: row.get(8)?,
                updated_at: from_millis(at),
            }),
            _ => None,
        };
        let history = History::decode(row.get_ref(9)?.as_blob()?)
            .and_then(History::writes)
            .map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(9, rusqlite::types::Type::Blob, Box::new(e))
            })?;
        Ok(Tags {
            tags,
            cart,
            history,
        })
    })
    .optional()
}

/// The emails of a company's subscribers holding `tag`, after `cursor`, in email order.
pub fn emails_with_tag(
    conn: &Connection,
    company: CompanyId,
    tag: &str,
    after: &str,
    limit: usize,
) -> rusqlite::Result<Vec<String>> {
    let column = match tag {
        IN_CART => "in_cart",
        IN_CHECKOUT => "in_checkout",
        _ => return Ok(Vec::new()),
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT email FROM subscriber_tags WHERE company_id = ?1 AND {column} = 1 AND email > ?2 ORDER BY email LIMIT ?3"
    ))?;
    stmt.query_map(
        params![
            company.0.as_bytes(),
            after,
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        |row| row.get(0),
    )?
    .collect()
}
