//! Orders per store, latest state first by `date_modified_gmt`, with their refunds: what a store's
//! order history looks like now, whatever order the updates arrived in. Live orders and synced
//! (historic) orders land here alike.

use rusqlite::{Connection, Transaction, params};
use serde::Serialize;
use time::OffsetDateTime;
use woo_domain::commerce::lenient::{Money, WooId};
use woo_domain::commerce::resources::{Order, Refund};
use woo_domain::values::Email;
use woo_domain::{EventMetadata, IntegrationId};
use woo_eventlog::RecordedEvent;
use woo_projector::{Projection, ProjectionError};

use crate::decode::{from_millis, millis, read_data, read_metadata, stream_id};

pub struct Orders;

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

pub(crate) fn is_order_event(kind: &str) -> bool {
    matches!(
        kind,
        "ecommerce.order_placed"
            | "ecommerce.order_updated"
            | "ecommerce.order_completed"
            | "ecommerce.order_cancelled"
            | "ecommerce.order_refunded"
            | "ecommerce.order_synced"
    )
}

/// What an order event says: a whole order, or one refund of an order.
pub(crate) enum OrderFact {
    Order(Box<Order>),
    Refund {
        order: WooId,
        refund: WooId,
        amount: Money,
    },
}

pub(crate) fn read_order_fact(recorded: &RecordedEvent) -> Result<OrderFact, ProjectionError> {
    if recorded.event_type == "ecommerce.order_refunded" {
        let refund: Refund = read_data(recorded)?;
        if let (Some(amount), Some(order)) = (refund.amount, refund.order()) {
            return Ok(OrderFact::Refund {
                order,
                refund: refund.id,
                amount,
            });
        }
    }
    Ok(OrderFact::Order(Box::new(read_data(recorded)?)))
}

/// The refund lines an order lists, as (refund id, positive amount).
pub(crate) fn refund_lines(order: &Order) -> impl Iterator<Item = (WooId, Money)> + '_ {
    order
        .refunds
        .iter()
        .filter_map(|r| r.total.map(|total| (r.id, Money(-total.0))))
}

impl Projection for Orders {
    fn name(&self) -> &'static str {
        "orders"
    }

    fn version(&self) -> u32 {
        1
    }

    fn schema(&self) -> &'static str {
        include_str!("schema.sql")
    }

    fn drop_schema(&self) -> &'static str {
        include_str!("drop.sql")
    }

    fn apply(&self, tx: &Transaction<'_>, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        if !is_order_event(&recorded.event_type) {
            return Ok(());
        }
        let integration: IntegrationId = stream_id(recorded, "store-")?;
        let metadata: EventMetadata = read_metadata(recorded)?;
        let Some(company) = metadata.company_id else {
            return Ok(());
        };
        let integration = integration.to_string();
        match read_order_fact(recorded)? {
            OrderFact::Refund {
                order,
                refund,
                amount,
            } => {
                insert_refund(tx, &integration, order, refund, amount)?;
            }
            OrderFact::Order(order) => {
                let version_at = millis(order.date_modified_gmt.unwrap_or(metadata.occurred_at));
                tx.prepare_cached(include_str!("upsert.sql"))?
                    .execute(params![
                        integration,
                        order.id.0 as i64,
                        company.to_string(),
                        order.status,
                        order.currency,
                        order.total.unwrap_or_default().to_string(),
                        order.customer_id.0 as i64,
                        Email::parse(&order.billing.email)
                            .ok()
                            .map(|e| e.to_string()),
                        order.date_created_gmt.map(millis),
                        order.date_modified_gmt.map(millis),
                        version_at,
                        recorded.event_id.to_string(),
                    ])?;
                for (refund, amount) in refund_lines(&order) {
                    insert_refund(tx, &integration, order.id, refund, amount)?;
                }
            }
        }
        Ok(())
    }
}

fn insert_refund(
    tx: &Transaction<'_>,
    integration: &str,
    order: WooId,
    refund: WooId,
    amount: Money,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO order_refunds (integration_id, order_id, refund_id, amount) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![integration, order.0 as i64, refund.0 as i64, amount.normalized().to_string()])?;
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrderRow {
    pub order_id: u64,
    pub status: String,
    pub currency: String,
    pub total: String,
    pub refunded: String,
    pub customer_id: u64,
    pub email: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub date_created: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub date_modified: Option<OffsetDateTime>,
}

/// A store's orders, newest first by creation, at most `limit`.
pub fn for_store(
    conn: &Connection,
    integration: IntegrationId,
    limit: usize,
) -> rusqlite::Result<Vec<OrderRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.order_id, o.status, o.currency, o.total, o.customer_id, o.email, o.date_created, o.date_modified,
                (SELECT group_concat(amount, ' ') FROM order_refunds r
                 WHERE r.integration_id = o.integration_id AND r.order_id = o.order_id)
         FROM orders o WHERE o.integration_id = ?1
         ORDER BY o.date_created DESC, o.order_id DESC LIMIT ?2",
    )?;
    stmt.query_map(
        params![
            integration.to_string(),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        |row| {
            let refunds: Option<String> = row.get(8)?;
            let total: String = row.get(3)?;
            Ok(OrderRow {
                order_id: u64::try_from(row.get::<_, i64>(0)?).unwrap_or_default(),
                status: row.get(1)?,
                currency: row.get(2)?,
                refunded: sum(refunds.as_deref()).with_scale_of(&total).to_string(),
                total,
                customer_id: u64::try_from(row.get::<_, i64>(4)?).unwrap_or_default(),
                email: row.get(5)?,
                date_created: row.get::<_, Option<i64>>(6)?.map(from_millis),
                date_modified: row.get::<_, Option<i64>>(7)?.map(from_millis),
            })
        },
    )?
    .collect()
}

/// Adds up space-separated decimal amounts (what `group_concat` gives back). Refund rows hold
/// normalised amounts: the same refund may be spelled `-5.00` in an order and `5` in a refund
/// resource, and which spelling arrived last must not show.
pub(crate) fn sum(amounts: Option<&str>) -> Money {
    amounts
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|a| Money::parse_json(a).ok().flatten())
        .fold(Money::ZERO, |total, a| total + a)
}
