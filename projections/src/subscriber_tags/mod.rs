//! The subscriber tags that gate recovery flows (`ecommerce.in_cart`, `ecommerce.in_checkout`)
//! and the current cart, per company and email, by the rules of DESIGN.md §5:
//!
//! | event | in_cart | in_checkout |
//! |---|---|---|
//! | `cart_started`, `cart_updated` with items | add | — |
//! | `cart_cleared`, or a cart with no items | remove | remove |
//! | `checkout_started` (keeps the cart it carries) | — | add |
//! | a live order for that email in a placed status (`processing`, `completed`, `on-hold`) | remove | remove |
//! | a live order in an unpaid status (`pending`, `failed`, `checkout-draft`) | remove | keep |
//!
//! An unpaid order keeps `in_checkout` and the cart: the payment failed or was abandoned, which is
//! exactly when the abandoned-checkout email is due, and the email shows that cart. Each tag is a
//! last-writer-wins register ordered by `(occurred_at, event_id)`: an event older than the one
//! that last set the tag changes nothing, so retries arriving late and out of order leave the same
//! tags as delivery in order. Sync records never touch tags. Each write is also kept in the tag's
//! bounded history (`history.rs`), which says why a subscriber holds a tag or not. Cart events of
//! a shopper not known yet are kept and join the shopper's record once an event names both their
//! email and the same session or cart token (`stitching.rs`).

mod history;
mod read;
mod stitching;

use rusqlite::{Transaction, params};
use woo_domain::CompanyId;
use woo_domain::commerce::resources::{OrderHead, ShopperActivity};
use woo_domain::commerce::{CommerceEventType, Subject};
use woo_domain::values::Email;
use woo_eventlog::RecordedEvent;
use woo_projector::{Projection, ProjectionError};

use crate::decode::{cart_value, integration, millis, read_data, read_head};
use crate::names::ReadModel;
use woo_domain::commerce::lenient::text;
use woo_domain::streams::Category;

pub use history::{KEPT, TagWrite};
pub use read::{CartItem, CurrentCart, Tags, cart_store, emails_with_tag, get};
pub use stitching::WINDOW_MS as STITCH_WINDOW_MS;

pub const IN_CART: &str = "ecommerce.in_cart";
pub const IN_CHECKOUT: &str = "ecommerce.in_checkout";

/// Order statuses of a placed order: the shopper bought, both flows end.
pub const PLACED: &[&str] = &["processing", "completed", "on-hold"];
/// Order statuses of an order whose payment is still missing: the checkout flow goes on.
pub const UNPAID: &[&str] = &["pending", "failed", "checkout-draft"];

pub struct SubscriberTags;

/// One write to a register: when (with the event id to break ties), and what the event was.
struct Write<'a> {
    at: i64,
    event: &'a str,
    event_type: &'a str,
    order_number: Option<&'a str>,
    /// An anonymous cart's event, applied once its shopper identified.
    stitched: bool,
}

/// The store and log position of the event being applied: the cart's store, and where an
/// unreadable stored event is.
struct Origin<'a> {
    integration: &'a str,
    position: u64,
}

/// The number the merchant knows an order by (`"1234"`), read beside its status.
#[derive(serde::Deserialize)]
struct Numbered {
    #[serde(default, deserialize_with = "text")]
    number: String,
}

impl Projection for SubscriberTags {
    fn name(&self) -> &'static str {
        ReadModel::SubscriberTags.name()
    }

    fn version(&self) -> u32 {
        4
    }

    fn schema(&self) -> &'static str {
        include_str!("schema.sql")
    }

    fn drop_schema(&self) -> &'static str {
        include_str!("drop.sql")
    }

    fn apply(&self, tx: &Transaction<'_>, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        let Some(kind) = CommerceEventType::parse(&recorded.event_type) else {
            return Ok(());
        };
        if kind.is_synced() || !matches!(kind.subject(), Subject::Shopper | Subject::Order) {
            return Ok(());
        }
        let metadata = read_head(recorded)?;
        let Some(company) = metadata.company_id else {
            return Ok(());
        };
        let event_id = recorded.event_id.to_string();
        let write = Write {
            at: millis(metadata.occurred_at),
            event: &event_id,
            event_type: &recorded.event_type,
            order_number: None,
            stitched: false,
        };
        let integration = integration(recorded, Category::Store)?.to_string();
        let origin = Origin {
            integration: &integration,
            position: recorded.position.0,
        };

        if kind.subject() == Subject::Order {
            if kind.is_deletion() {
                return Ok(());
            }
            // A refund resource or an `{id}` body has no status, and changes no tag.
            let order: OrderHead = read_data(recorded)?;
            let placed = PLACED.contains(&order.status.as_str());
            if !placed && !UNPAID.contains(&order.status.as_str()) {
                return Ok(());
            }
            let Ok(email) = Email::parse(&order.billing.email) else {
                return Ok(());
            };
            let number = read_data::<Numbered>(recorded)?.number;
            let write = Write {
                order_number: Some(number.as_str()).filter(|n| !n.is_empty()),
                ..write
            };
            set_tag(tx, company, &email, "in_cart", false, &write)?;
            if placed {
                set_tag(tx, company, &email, "in_checkout", false, &write)?;
                set_cart(tx, company, &email, None, &write, &origin)?;
            }
            return Ok(());
        }

        let activity: ShopperActivity = read_data(recorded)?;
        let keys = stitching::keys(&activity);
        let key = |key| stitching::Key {
            company,
            integration: &integration,
            key,
        };
        match Email::parse(&activity.email) {
            Ok(email) => {
                shopper(tx, company, &email, kind, &activity, &write, &origin)?;
                for name in &keys {
                    let key = key(name);
                    stitching::link(tx, &key, &email, write.at)?;
                    for earlier in stitching::for_email(tx, &key, &email)? {
                        apply_anonymous(tx, company, &email, &earlier, &origin)?;
                    }
                }
            }
            Err(_) if activity.email.trim().is_empty() => {
                let anonymous = stitching::Anonymous {
                    at: write.at,
                    event_id: event_id.clone(),
                    event_type: recorded.event_type.clone(),
                    data: recorded.data.get().to_owned(),
                };
                for name in &keys {
                    let key = key(name);
                    if !stitching::remember(tx, &key, &anonymous)? {
                        continue;
                    }
                    for email in stitching::emails_for(tx, &key, write.at)? {
                        if let Ok(email) = Email::parse(&email) {
                            apply_anonymous(tx, company, &email, &anonymous, &origin)?;
                        }
                    }
                }
            }
            Err(_) => {}
        }
        Ok(())
    }
}

/// Applies a kept anonymous cart event to the shopper it turned out to be.
fn apply_anonymous(
    tx: &Transaction<'_>,
    company: CompanyId,
    email: &Email,
    event: &stitching::Anonymous,
    origin: &Origin<'_>,
) -> Result<(), ProjectionError> {
    let Some(kind) = CommerceEventType::parse(&event.event_type) else {
        return Ok(());
    };
    let activity: ShopperActivity =
        serde_json::from_str(&event.data).map_err(|e| ProjectionError::Event {
            position: origin.position,
            message: format!("a kept anonymous cart does not read: {e}"),
        })?;
    let write = Write {
        at: event.at,
        event: &event.event_id,
        event_type: &event.event_type,
        order_number: None,
        stitched: true,
    };
    shopper(tx, company, email, kind, &activity, &write, origin)
}

/// The tags and cart a shopper's cart or checkout event decides (DESIGN.md §5).
fn shopper(
    tx: &Transaction<'_>,
    company: CompanyId,
    email: &Email,
    kind: CommerceEventType,
    activity: &ShopperActivity,
    write: &Write<'_>,
    origin: &Origin<'_>,
) -> Result<(), ProjectionError> {
    if kind == CommerceEventType::CheckoutStarted {
        set_tag(tx, company, email, "in_checkout", true, write)?;
        if !activity.cart.items.is_empty() {
            set_cart(tx, company, email, Some(activity), write, origin)?;
        }
        return Ok(());
    }
    let has_items = kind != CommerceEventType::CartCleared && !activity.cart.items.is_empty();
    set_tag(tx, company, email, "in_cart", has_items, write)?;
    if !has_items {
        set_tag(tx, company, email, "in_checkout", false, write)?;
    }
    set_cart(
        tx,
        company,
        email,
        has_items.then_some(activity),
        write,
        origin,
    )
}

/// Sets a tag if this write is newer than the one that decided it, and keeps the write in the
/// tag's history either way.
fn set_tag(
    tx: &Transaction<'_>,
    company: CompanyId,
    email: &Email,
    tag: &str,
    on: bool,
    write: &Write<'_>,
) -> rusqlite::Result<()> {
    // `tag` is one of two column names fixed in this module, never input. An upsert, so the
    // subscriber's row is made by the first tag an event writes (every event writes one before
    // its cart), without a statement of its own.
    let sql = format!(
        "INSERT INTO subscriber_tags (company_id, email, {tag}, {tag}_at, {tag}_event)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (company_id, email) DO UPDATE SET
             {tag} = excluded.{tag}, {tag}_at = excluded.{tag}_at, {tag}_event = excluded.{tag}_event
         WHERE {tag}_at IS NULL OR {tag}_at < excluded.{tag}_at
            OR ({tag}_at = excluded.{tag}_at AND {tag}_event < excluded.{tag}_event)"
    );
    tx.prepare_cached(&sql)?.execute(params![
        company.to_string(),
        email.as_str(),
        on,
        write.at,
        write.event
    ])?;
    let cause = history::Cause {
        at: write.at,
        event_id: write.event,
        event_type: write.event_type,
        order_number: write.order_number,
        stitched: write.stitched,
    };
    let tag = if tag == "in_cart" {
        IN_CART
    } else {
        IN_CHECKOUT
    };
    history::record(tx, company, email, tag, on, &cause)
}

/// Records the current cart (or its absence) if this write is newer than the last. The row is
/// there: every event writes a tag (`set_tag`) before its cart.
fn set_cart(
    tx: &Transaction<'_>,
    company: CompanyId,
    email: &Email,
    activity: Option<&ShopperActivity>,
    write: &Write<'_>,
    origin: &Origin<'_>,
) -> Result<(), ProjectionError> {
    let items = activity
        .map(|a| {
            let items: Vec<CartItem> = a
                .cart
                .items
                .iter()
                .map(|i| CartItem {
                    product_id: i.id.0,
                    name: i.name.clone(),
                    quantity: i.quantity.clone(),
                })
                .collect();
            serde_json::to_string(&items)
        })
        .transpose()
        .map_err(|e| ProjectionError::Event {
            position: origin.position,
            message: e.to_string(),
        })?;
    tx.prepare_cached(
        "UPDATE subscriber_tags SET cart_items = ?3, cart_value = ?4, cart_currency = ?5, cart_token = ?6,
             checkout_url = ?7, integration_id = ?8, cart_at = ?9, cart_event = ?10
         WHERE company_id = ?1 AND email = ?2
           AND (cart_at IS NULL OR cart_at < ?9 OR (cart_at = ?9 AND cart_event < ?10))",
    )?
    .execute(params![
        company.to_string(),
        email.as_str(),
        items,
        activity.and_then(|a| cart_value(&a.cart.totals)),
        activity.map(|a| a.cart.totals.currency_code.clone()).filter(|c| !c.is_empty()),
        activity.map(|a| a.cart_token.clone()).filter(|t| !t.is_empty()),
        activity.map(|a| a.checkout_url.clone()).filter(|u| !u.is_empty()),
        origin.integration,
        write.at,
        write.event,
    ])?;
    Ok(())
}
