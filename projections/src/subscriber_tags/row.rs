//! A subscriber's row of `subscriber_tags`: read once per event, changed in memory by the event's
//! writes (and those of the anonymous carts stitched to it), written back once if they changed
//! it. One SELECT and at most one INSERT or UPDATE per event and subscriber, where separate
//! statements per register and per kept write once cost a dozen.

use rusqlite::{OptionalExtension, ToSql, params};
use uuid::Uuid;
use woo_domain::CompanyId;
use woo_domain::values::Email;
use woo_projector::BatchTx;

use super::history::{History, Tag, Unreadable, Write};

/// The write that decided the cart: the cart is a last-writer-wins register. The tags are too,
/// but the newest write to a tag, which decides it, is always in its kept history.
#[derive(Default)]
struct Decided {
    at: Option<i64>,
    event: Option<Uuid>,
}

impl Decided {
    /// Whether `write` is newer than the write that decided the register, if any.
    fn loses_to(&self, write: &Write<'_>) -> bool {
        match self.at {
            None => true,
            Some(at) => (at, self.event) < (write.at, Some(write.event_id)),
        }
    }
}

/// The cart a write leaves: its items (JSON) and totals, or all `None` once it is gone; and the
/// store of the event either way.
pub(super) struct Cart {
    pub items: Option<String>,
    pub value: Option<String>,
    pub currency: Option<String>,
    pub token: Option<String>,
    pub checkout_url: Option<String>,
    pub integration: String,
}

pub(super) struct Row {
    /// The company's 16 bytes, as the table keys it.
    company: [u8; 16],
    email: String,
    /// The row's rowid when it is in the table (an UPDATE by rowid writes it back, without a
    /// second search of the key's index), else an INSERT does.
    rowid: Option<i64>,
    changed: bool,
    /// `cart` is the cart of a write that won the register here, to be written back.
    cart_decided: Decided,
    cart: Option<Cart>,
    history: History,
}

const LOAD: &str = "SELECT rowid, cart_at, cart_event, history
    FROM subscriber_tags WHERE company_id = ?1 AND email = ?2";
const INSERT: &str = "INSERT INTO subscriber_tags (company_id, email,
        in_cart, in_checkout, cart_at, cart_event, history,
        cart_items, cart_value, cart_currency, cart_token, checkout_url, integration_id)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
const UPDATE: &str = "UPDATE subscriber_tags SET
        in_cart = ?2, in_checkout = ?3, cart_at = ?4, cart_event = ?5, history = ?6
    WHERE rowid = ?1";
const UPDATE_WITH_CART: &str = "UPDATE subscriber_tags SET
        in_cart = ?2, in_checkout = ?3, cart_at = ?4, cart_event = ?5, history = ?6,
        cart_items = ?7, cart_value = ?8, cart_currency = ?9, cart_token = ?10,
        checkout_url = ?11, integration_id = ?12
    WHERE rowid = ?1";

fn unreadable(column: usize, e: Unreadable) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Blob, Box::new(e))
}

impl Row {
    /// The subscriber's row as stored, or an empty one.
    pub(super) fn load(
        tx: &BatchTx<'_>,
        company: CompanyId,
        email: &Email,
    ) -> rusqlite::Result<Self> {
        let company = *company.0.as_bytes();
        let stored = tx.with(LOAD, |s| {
            s.query_row(params![company, email.as_str()], |row| {
                let history = row.get_ref(3)?.as_blob()?;
                Ok((
                    Some(row.get(0)?),
                    Decided {
                        at: row.get(1)?,
                        event: row.get::<_, Option<[u8; 16]>>(2)?.map(Uuid::from_bytes),
                    },
                    History::decode(history).map_err(|e| unreadable(3, e))?,
                ))
            })
            .optional()
        })?;
        let (rowid, cart_decided, history) = stored.unwrap_or_default();
        Ok(Self {
            company,
            email: email.as_str().to_owned(),
            rowid,
            changed: false,
            cart_decided,
            cart: None,
            history,
        })
    }

    /// Keeps the write in the tag's history, which sets the tag if it is the newest write.
    pub(super) fn tag(&mut self, tag: Tag, on: bool, write: &Write<'_>) -> rusqlite::Result<()> {
        if self
            .history
            .record(tag, on, write)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?
        {
            self.changed = true;
        }
        Ok(())
    }

    /// Records the current cart (or its absence) if this write is newer than the last.
    pub(super) fn cart(&mut self, cart: Cart, write: &Write<'_>) {
        if self.cart_decided.loses_to(write) {
            self.cart_decided = Decided {
                at: Some(write.at),
                event: Some(write.event_id),
            };
            self.cart = Some(cart);
            self.changed = true;
        }
    }

    /// Writes the row back if a write changed it.
    pub(super) fn save(self, tx: &BatchTx<'_>) -> rusqlite::Result<()> {
        if !self.changed {
            return Ok(());
        }
        let (in_cart, in_checkout) = (
            self.history.holds(Tag::InCart),
            self.history.holds(Tag::InCheckout),
        );
        let cart_event = self.cart_decided.event.map(|id| *id.as_bytes());
        let history = self.history.encode();
        let cart = self.cart.as_ref();
        let items = cart.and_then(|c| c.items.as_deref());
        let value = cart.and_then(|c| c.value.as_deref());
        let currency = cart.and_then(|c| c.currency.as_deref());
        let token = cart.and_then(|c| c.token.as_deref());
        let checkout_url = cart.and_then(|c| c.checkout_url.as_deref());
        let integration = cart.map(|c| c.integration.as_str());
        let (sql, mut params): (_, Vec<&dyn ToSql>) = match (&self.rowid, cart) {
            (None, _) => (INSERT, vec![&self.company, &self.email]),
            (Some(rowid), None) => (UPDATE, vec![rowid]),
            (Some(rowid), Some(_)) => (UPDATE_WITH_CART, vec![rowid]),
        };
        params.extend([
            &in_cart as &dyn ToSql,
            &in_checkout,
            &self.cart_decided.at,
            &cart_event,
            &history,
        ]);
        if sql != UPDATE {
            params.extend([
                &items as &dyn ToSql,
                &value,
                &currency,
                &token,
                &checkout_url,
                &integration,
            ]);
        }
        tx.with(sql, |s| s.execute(params.as_slice()))?;
        Ok(())
    }
}
