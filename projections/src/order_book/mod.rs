//! Orders of a store as WooCommerce has them now, kept the same way by every read model that needs
//! them (`orders` for the merchant's order list, `subscribers` for counts and spend): the newest
//! version of an order replaces the older one whole, refunds included; a deletion (or a body with
//! only `{id}`) removes it and stays as a tombstone. Each projection keeps its own copy of the
//! tables, under its own names, because projections advance independently.

use std::sync::LazyLock;

use rusqlite::{Connection, Transaction, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use woo_domain::commerce::lenient::{Money, WooId};
use woo_domain::commerce::resources::{Deletion, Order, Refund, only_id};
use woo_domain::commerce::{CommerceEventType, Subject};
use woo_domain::values::Email;
use woo_domain::{CompanyId, IntegrationId};
use woo_eventlog::RecordedEvent;
use woo_projector::ProjectionError;

use crate::decode::{millis, read_data};

/// Statuses of orders that were never placed, or were called off: they count for nobody.
pub const NOT_PLACED: &[&str] = &[
    "pending",
    "failed",
    "cancelled",
    "checkout-draft",
    "draft",
    "auto-draft",
    "trash",
];

/// What an order event says.
pub(crate) enum OrderFact {
    Order(Box<Order>),
    /// `order_deleted`, or any order body holding only `{id}`.
    Deleted(WooId),
    Refund(Box<Refund>),
}

/// The order fact of an event, `None` when the event is not about an order.
pub(crate) fn order_fact(recorded: &RecordedEvent) -> Result<Option<OrderFact>, ProjectionError> {
    let Some(kind) = CommerceEventType::parse(&recorded.event_type) else {
        return Ok(None);
    };
    if kind.subject() != Subject::Order {
        return Ok(None);
    }
    if kind.is_deletion() {
        return Ok(Some(OrderFact::Deleted(
            read_data::<Deletion>(recorded)?.id,
        )));
    }
    if let Some(id) = only_id(&recorded.data) {
        return Ok(Some(OrderFact::Deleted(id)));
    }
    if kind == CommerceEventType::OrderRefunded {
        let refund: Refund = read_data(recorded)?;
        if refund.amount.is_some() && refund.order().is_some() {
            return Ok(Some(OrderFact::Refund(Box::new(refund))));
        }
    }
    Ok(Some(OrderFact::Order(Box::new(read_data(recorded)?))))
}

/// A product line as the read models keep it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub product_id: u64,
    pub variation_id: Option<u64>,
    pub name: String,
    pub sku: String,
    pub quantity: String,
    pub total: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coupon {
    pub code: String,
    pub discount: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipping {
    pub method: String,
    pub method_id: String,
    pub total: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefundRow {
    pub refund_id: u64,
    /// Positive.
    pub amount: String,
    pub reason: String,
}

/// The statements of one copy of the order tables.
pub(crate) struct OrderBook {
    pub schema: String,
    /// Whether line items, coupons and shipping are kept (the `orders` model shows them; the
    /// subscribers model only counts and sums, and leaves them empty to apply faster).
    details: bool,
    upsert: String,
    clear_refunds: String,
    insert_refund: String,
    record_refund: String,
    refunds: String,
}

impl OrderBook {
    fn new(orders: &str, refunds: &str, records: &str, details: bool) -> Self {
        let name = |sql: &str| {
            sql.replace("{orders}", orders)
                .replace("{refunds}", refunds)
                .replace("{records}", records)
        };
        OrderBook {
            schema: name(include_str!("schema.sql")),
            details,
            upsert: name(include_str!("upsert.sql")),
            clear_refunds: name("DELETE FROM {refunds} WHERE integration_id = ?1 AND order_id = ?2"),
            insert_refund: name(
                "INSERT OR REPLACE INTO {refunds} (integration_id, order_id, refund_id, amount, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            ),
            record_refund: name(include_str!("record_refund.sql")),
            refunds: name(include_str!("refunds.sql")),
        }
    }

    /// Applies an order fact. `at` is the event's `occurred_at`: the version of a deletion and of
    /// a body without `date_modified_gmt`.
    pub fn apply(
        &self,
        tx: &Transaction<'_>,
        recorded: &RecordedEvent,
        fact: &OrderFact,
        company: CompanyId,
        integration: IntegrationId,
        at: OffsetDateTime,
    ) -> Result<(), ProjectionError> {
        let integration = integration.to_string();
        let event = recorded.event_id.to_string();
        match fact {
            OrderFact::Order(order) => {
                let version_at = millis(order.date_modified_gmt.unwrap_or(at));
                let json = |value: Result<String, serde_json::Error>| {
                    value.map_err(|e| ProjectionError::Event {
                        position: recorded.position.0,
                        message: e.to_string(),
                    })
                };
                let (items, coupons, shipping) = if self.details {
                    (
                        json(serde_json::to_string(&line_items(order)))?,
                        json(serde_json::to_string(&coupons(order)))?,
                        json(serde_json::to_string(&shipping(order)))?,
                    )
                } else {
                    ("[]".to_owned(), "[]".to_owned(), "[]".to_owned())
                };
                let money = |m: Option<Money>| m.map(|m| m.to_string());
                let won = tx.prepare_cached(&self.upsert)?.execute(params![
                    integration,
                    order.id.0 as i64,
                    company.to_string(),
                    if order.number.is_empty() {
                        order.id.to_string()
                    } else {
                        order.number.clone()
                    },
                    order.status,
                    order.currency,
                    order.total.unwrap_or_default().to_string(),
                    money(order.discount_total),
                    money(order.shipping_total),
                    order.payment_method_title,
                    order.customer_id.0 as i64,
                    Email::parse(&order.billing.email)
                        .ok()
                        .map(|e| e.to_string()),
                    order.date_created_gmt.map(millis),
                    order.date_modified_gmt.map(millis),
                    order.date_paid_gmt.map(millis),
                    order.date_completed_gmt.map(millis),
                    items,
                    coupons,
                    shipping,
                    false,
                    version_at,
                    event,
                ])?;
                if won > 0 {
                    self.replace_refunds(tx, &integration, order.id, Some(order))?;
                }
            }
            OrderFact::Deleted(id) => {
                let won = tx.prepare_cached(&self.upsert)?.execute(params![
                    integration,
                    id.0 as i64,
                    company.to_string(),
                    id.to_string(),
                    "",
                    "",
                    "0",
                    None::<String>,
                    None::<String>,
                    "",
                    0,
                    None::<String>,
                    None::<i64>,
                    None::<i64>,
                    None::<i64>,
                    None::<i64>,
                    "[]",
                    "[]",
                    "[]",
                    true,
                    millis(at),
                    event,
                ])?;
                if won > 0 {
                    self.replace_refunds(tx, &integration, *id, None)?;
                }
            }
            OrderFact::Refund(refund) => {
                let Some(order) = refund.order() else {
                    return Ok(());
                };
                tx.prepare_cached(&self.record_refund)?.execute(params![
                    integration,
                    order.0 as i64,
                    refund.id.0 as i64,
                    refund.amount.unwrap_or_default().normalized().to_string(),
                    refund.reason,
                    millis(refund.date_created_gmt.unwrap_or(at)),
                    millis(at),
                    event,
                ])?;
            }
        }
        Ok(())
    }

    /// Makes the order's listed refunds those of `order` (none for a deletion).
    fn replace_refunds(
        &self,
        tx: &Transaction<'_>,
        integration: &str,
        id: WooId,
        order: Option<&Order>,
    ) -> rusqlite::Result<()> {
        tx.prepare_cached(&self.clear_refunds)?
            .execute(params![integration, id.0 as i64])?;
        for line in order.map(|o| o.refunds.as_slice()).unwrap_or_default() {
            let Some(total) = line.total else { continue };
            tx.prepare_cached(&self.insert_refund)?.execute(params![
                integration,
                id.0 as i64,
                line.id.0 as i64,
                Money(-total.0).normalized().to_string(),
                line.reason,
            ])?;
        }
        Ok(())
    }

    /// The refunds of an order as of its version `version_at`: those it lists, and refunds
    /// created after it that it could not list yet.
    pub fn refunds(
        &self,
        conn: &Connection,
        integration: &str,
        order: i64,
        version_at: i64,
    ) -> rusqlite::Result<Vec<RefundRow>> {
        conn.prepare_cached(&self.refunds)?
            .query_map(params![integration, order, version_at], |row| {
                Ok(RefundRow {
                    refund_id: u64::try_from(row.get::<_, i64>(0)?).unwrap_or_default(),
                    amount: row.get(1)?,
                    reason: row.get(2)?,
                })
            })?
            .collect()
    }
}

/// The order tables of the `orders` read model.
pub(crate) static ORDERS: LazyLock<OrderBook> =
    LazyLock::new(|| OrderBook::new("orders", "order_refunds", "order_refund_records", true));

/// The order tables of the `subscribers` read model.
pub(crate) static SUBSCRIBER_ORDERS: LazyLock<OrderBook> = LazyLock::new(|| {
    OrderBook::new(
        "subscriber_orders",
        "subscriber_refunds",
        "subscriber_refund_records",
        false,
    )
});

/// The total of refund rows.
pub(crate) fn refunded(refunds: &[RefundRow]) -> Money {
    refunds
        .iter()
        .filter_map(|r| Money::parse_json(&r.amount).ok().flatten())
        .fold(Money::ZERO, |total, a| total + a)
}

fn line_items(order: &Order) -> Vec<LineItem> {
    order
        .line_items
        .iter()
        .map(|l| LineItem {
            product_id: l.product_id.0,
            variation_id: Some(l.variation_id.0).filter(|id| *id > 0),
            name: l.name.clone(),
            sku: l.sku.clone(),
            quantity: l.quantity.clone(),
            total: l.total.map(|t| t.to_string()),
        })
        .collect()
}

fn coupons(order: &Order) -> Vec<Coupon> {
    order
        .coupon_lines
        .iter()
        .map(|c| Coupon {
            code: c.code.clone(),
            discount: c.discount.map(|d| d.to_string()),
        })
        .collect()
}

fn shipping(order: &Order) -> Vec<Shipping> {
    order
        .shipping_lines
        .iter()
        .map(|s| Shipping {
            method: s.method_title.clone(),
            method_id: s.method_id.clone(),
            total: s.total.map(|t| t.to_string()),
        })
        .collect()
}
