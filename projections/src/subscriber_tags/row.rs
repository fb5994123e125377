//! A subscriber's row of `subscriber_tags`: read once per event, changed in memory by the event's
//! writes (and those of the anonymous carts stitched to it), written back once if they changed
//! it. One SELECT and at most one INSERT or UPDATE per event and subscriber, where separate
//! statements per register and per kept write once cost a dozen.

use rusqlite::{OptionalExtension, ToSql, Transaction, params};
use uuid::Uuid;
use woo_domain::CompanyId;
use woo_domain::values::Email;

use super::history::{History, Tag, Unreadable, Write};

/// A last-writer-wins register: its value and the write that decided it.
#[derive(Default)]
struct Register {
    on: bool,
    at: Option<i64>,
    event: Option<Uuid>,
}

impl Register {
    /// Whether `write` is newer than the write that decided the register, if any.
    fn loses_to(&self, write: &Write<'_>) -> bool {
        match self.at {
            None => true,
            Some(at) => (at, self.event) < (write.at, Some(write.event_id)),
        }
    }

    fn take(&mut self, on: bool, write: &Write<'_>) {
        *self = Self {
            on,
            at: Some(write.at),
            event: Some(write.event_id),
        };
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
    company: String,
    email: String,
    /// The row's rowid when it is in the table (an UPDATE by rowid writes it back, without a
    /// second search of the key's index), else an INSERT does.
    rowid: Option<i64>,
    changed: bool,
    in_cart: Register,
    in_checkout: Register,
    /// Decides the cart; `cart` is the cart of a write that won it here, to be written back.
    cart_register: Register,
    cart: Option<Cart>,
    history: History,
}

const LOAD: &str = "SELECT rowid, in_cart, in_cart_at, in_cart_event, in_checkout, in_checkout_at,
        in_checkout_event, cart_at, cart_event, history
    FROM subscriber_tags WHERE company_id = ?1 AND email = ?2";
const INSERT: &str = "INSERT INTO subscriber_tags (company_id, email,
        in_cart, in_cart_at, in_cart_event, in_checkout, in_checkout_at, in_checkout_event,
        cart_at, cart_event, history,
        cart_items, cart_value, cart_currency, cart_token, checkout_url, integration_id)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";
const UPDATE: &str = "UPDATE subscriber_tags SET
        in_cart = ?2, in_cart_at = ?3, in_cart_event = ?4,
        in_checkout = ?5, in_checkout_at = ?6, in_checkout_event = ?7,
        cart_at = ?8, cart_event = ?9, history = ?10
    WHERE rowid = ?1";
const UPDATE_WITH_CART: &str = "UPDATE subscriber_tags SET
        in_cart = ?2, in_cart_at = ?3, in_cart_event = ?4,
        in_checkout = ?5, in_checkout_at = ?6, in_checkout_event = ?7,
        cart_at = ?8, cart_event = ?9, history = ?10,
        cart_items = ?11, cart_value = ?12, cart_currency = ?13, cart_token = ?14,
        checkout_url = ?15, integration_id = ?16
    WHERE rowid = ?1";

fn unreadable(column: usize, e: Unreadable) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Blob, Box::new(e))
}

/// An event id column: 16 bytes, or NULL before the first write.
fn event_id(row: &rusqlite::Row<'_>, column: usize) -> rusqlite::Result<Option<Uuid>> {
    row.get::<_, Option<[u8; 16]>>(column)
        .map(|id| id.map(Uuid::from_bytes))
}

impl Row {
    /// The subscriber's row as stored, or an empty one.
    pub(super) fn load(
        tx: &Transaction<'_>,
        company: CompanyId,
        email: &Email,
    ) -> rusqlite::Result<Self> {
        let company = company.to_string();
        let stored = tx
            .prepare_cached(LOAD)?
            .query_row(params![company, email.as_str()], |row| {
                let register = |on, at, event| -> rusqlite::Result<Register> {
                    Ok(Register {
                        on: row.get(on)?,
                        at: row.get(at)?,
                        event: event_id(row, event)?,
                    })
                };
                let history = row.get_ref(9)?.as_blob()?;
                Ok((
                    Some(row.get(0)?),
                    register(1, 2, 3)?,
                    register(4, 5, 6)?,
                    Register {
                        on: false,
                        at: row.get(7)?,
                        event: event_id(row, 8)?,
                    },
                    History::decode(history).map_err(|e| unreadable(9, e))?,
                ))
            })
            .optional()?;
        let (rowid, in_cart, in_checkout, cart_register, history) = stored.unwrap_or_default();
        Ok(Self {
            company,
            email: email.as_str().to_owned(),
            rowid,
            changed: false,
            in_cart,
            in_checkout,
            cart_register,
            cart: None,
            history,
        })
    }

    /// Sets `tag` if this write is newer than the one that decided it, and keeps the write in
    /// the tag's history either way.
    pub(super) fn tag(&mut self, tag: Tag, on: bool, write: &Write<'_>) -> rusqlite::Result<()> {
        let register = match tag {
            Tag::InCart => &mut self.in_cart,
            Tag::InCheckout => &mut self.in_checkout,
        };
        if register.loses_to(write) {
            register.take(on, write);
            self.changed = true;
        }
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
        if self.cart_register.loses_to(write) {
            self.cart_register.take(false, write);
            self.cart = Some(cart);
            self.changed = true;
        }
    }

    /// Writes the row back if a write changed it.
    pub(super) fn save(self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        if !self.changed {
            return Ok(());
        }
        let id = |register: &Register| register.event.map(|id| *id.as_bytes());
        let (in_cart_event, in_checkout_event, cart_event) = (
            id(&self.in_cart),
            id(&self.in_checkout),
            id(&self.cart_register),
        );
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
            &self.in_cart.on as &dyn ToSql,
            &self.in_cart.at,
            &in_cart_event,
            &self.in_checkout.on,
            &self.in_checkout.at,
            &in_checkout_event,
            &self.cart_register.at,
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
        tx.prepare_cached(sql)?.execute(params.as_slice())?;
        Ok(())
    }
}
