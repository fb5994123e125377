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

mod activity;
mod history;
mod read;
mod row;
mod stitching;

use woo_domain::commerce::resources::Address;
use woo_domain::commerce::{CommerceEventType, Subject};
use woo_domain::values::Email;
use woo_eventlog::RecordedEvent;
use woo_projector::{BatchTx, Projection, ProjectionError};

use crate::decode::{cart_value, integration, millis, read_data, read_head};
use crate::names::ReadModel;
use activity::Activity;
use history::{Tag, Write};
use row::{Cart, Row};
use woo_domain::commerce::lenient::{WooId, object_or_empty, text};
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

/// The store and log position of the event being applied: the cart's store, and where an
/// unreadable stored event is.
struct Origin<'a> {
    integration: &'a str,
    position: u64,
}

/// An order as the tags read it: the fields of `OrderHead` and the number the merchant knows it
/// by (`"1234"`), in one pass over the order, where reading the two apart read it twice. The ids
/// are read though unused so that an order whose ids do not read stops here as it did.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct NumberedOrder {
    #[serde(rename = "id")]
    _id: WooId,
    #[serde(deserialize_with = "text")]
    status: String,
    #[serde(rename = "customer_id")]
    _customer_id: WooId,
    #[serde(deserialize_with = "object_or_empty")]
    billing: Address,
    #[serde(deserialize_with = "text")]
    number: String,
}

impl Projection for SubscriberTags {
    fn name(&self) -> &'static str {
        ReadModel::SubscriberTags.name()
    }

    fn version(&self) -> u32 {
        6
    }

    fn schema(&self) -> &'static str {
        include_str!("schema.sql")
    }

    fn drop_schema(&self) -> &'static str {
        include_str!("drop.sql")
    }

    fn apply(&self, tx: &BatchTx<'_>, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
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
        let write = Write {
            at: millis(metadata.occurred_at),
            event_id: recorded.event_id,
            event_type: kind,
            order_number: None,
            stitched: false,
        };
        let store = integration(recorded, Category::Store)?;
        let integration = store.to_string();
        let origin = Origin {
            integration: &integration,
            position: recorded.position.0,
        };

        if kind.subject() == Subject::Order {
            if kind.is_deletion() {
                return Ok(());
            }
            // A refund resource or an `{id}` body has no status, and changes no tag.
            let order: NumberedOrder = read_data(recorded)?;
            let placed = PLACED.contains(&order.status.as_str());
            if !placed && !UNPAID.contains(&order.status.as_str()) {
                return Ok(());
            }
            let Ok(email) = Email::parse(&order.billing.email) else {
                return Ok(());
            };
            let write = Write {
                order_number: Some(order.number.as_str()).filter(|n| !n.is_empty()),
                ..write
            };
            let mut row = Row::load(tx, company, &email)?;
            row.tag(Tag::InCart, false, &write)?;
            if placed {
                row.tag(Tag::InCheckout, false, &write)?;
                row.cart(cart(None, &origin)?, &write);
            }
            return Ok(row.save(tx)?);
        }

        let activity: Activity = read_data(recorded)?;
        let keys = stitching::keys(&activity);
        let key = |key| stitching::Key {
            company,
            integration: store,
            key,
        };
        match Email::parse(&activity.email) {
            Ok(email) => {
                // The event and every anonymous cart it identifies change one row, written once.
                let mut row = Row::load(tx, company, &email)?;
                shopper(&mut row, &activity, &write, &origin)?;
                for earlier in stitching::link(tx, (company, store), &keys, &email, write.at)? {
                    apply_anonymous(&mut row, &earlier, &origin)?;
                }
                row.save(tx)?;
            }
            Err(_) if activity.email.trim().is_empty() => {
                let anonymous = stitching::Anonymous {
                    at: write.at,
                    event_id: recorded.event_id,
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
                            let mut row = Row::load(tx, company, &email)?;
                            apply_anonymous(&mut row, &anonymous, &origin)?;
                            row.save(tx)?;
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
    row: &mut Row,
    event: &stitching::Anonymous,
    origin: &Origin<'_>,
) -> Result<(), ProjectionError> {
    let Some(kind) = CommerceEventType::parse(&event.event_type) else {
        return Ok(());
    };
    let activity: Activity =
        serde_json::from_str(&event.data).map_err(|e| ProjectionError::Event {
            position: origin.position,
            message: format!("a kept anonymous cart does not read: {e}"),
        })?;
    let write = Write {
        at: event.at,
        event_id: event.event_id,
        event_type: kind,
        order_number: None,
        stitched: true,
    };
    shopper(row, &activity, &write, origin)
}

/// The tags and cart a shopper's cart or checkout event decides (DESIGN.md §5).
fn shopper(
    row: &mut Row,
    activity: &Activity,
    write: &Write<'_>,
    origin: &Origin<'_>,
) -> Result<(), ProjectionError> {
    if write.event_type == CommerceEventType::CheckoutStarted {
        row.tag(Tag::InCheckout, true, write)?;
        if !activity.cart.items.is_empty() {
            row.cart(cart(Some(activity), origin)?, write);
        }
        return Ok(());
    }
    let has_items =
        write.event_type != CommerceEventType::CartCleared && !activity.cart.items.is_empty();
    row.tag(Tag::InCart, has_items, write)?;
    if !has_items {
        row.tag(Tag::InCheckout, false, write)?;
    }
    row.cart(cart(has_items.then_some(activity), origin)?, write);
    Ok(())
}

/// The cart an event leaves: the activity's, or none.
fn cart(activity: Option<&Activity>, origin: &Origin<'_>) -> Result<Cart, ProjectionError> {
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
    Ok(Cart {
        items,
        value: activity.and_then(|a| cart_value(&a.cart.totals)),
        currency: activity
            .map(|a| a.cart.totals.currency_code.clone())
            .filter(|c| !c.is_empty()),
        token: activity
            .map(|a| a.cart_token.clone())
            .filter(|t| !t.is_empty()),
        checkout_url: activity
            .map(|a| a.checkout_url.clone())
            .filter(|u| !u.is_empty()),
        integration: origin.integration.to_owned(),
    })
}
