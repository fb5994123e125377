//! Orders of a store as WooCommerce has them now, kept the same way by every read model that needs
//! them (`orders` for the merchant's order list, `subscribers` for counts and spend): the newest
//! version of an order replaces the older one whole, refunds included; a deletion (or a body with
//! only `{id}`) removes it and stays as a tombstone. Each projection keeps its own copy of the
//! tables, under its own names, because projections advance independently; `orders` keeps the
//! whole order, `subscribers` only what counts and sums need.

use std::sync::LazyLock;

use rusqlite::{Connection, params};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use woo_domain::commerce::lenient::{Money, WooId};
use woo_domain::commerce::resources::{Deletion, Order, OrderRefundLine, Refund, only_id};
use woo_domain::commerce::{CommerceEventType, Subject};
use woo_domain::{CompanyId, IntegrationId};
use woo_eventlog::RecordedEvent;
use woo_projector::{BatchTx, ProjectionError};

use crate::decode::{millis, read_data};

mod kept;

pub(crate) use kept::{KeptOrder, Key};

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

/// What an order event says, with the order read as `O`: the whole [`Order`], or the
/// [`OrderSummary`](woo_domain::commerce::resources::OrderSummary) that a projection which only
/// counts and sums needs.
pub(crate) enum OrderFact<O = Order> {
    Order(Box<O>),
    /// `order_deleted`, or any order body holding only `{id}`.
    Deleted(WooId),
    Refund(Box<Refund>),
}

/// The order fact of an event, `None` when the event is not about an order.
pub(crate) fn order_fact<O: DeserializeOwned>(
    recorded: &RecordedEvent,
) -> Result<Option<OrderFact<O>>, ProjectionError> {
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
    upsert: &'static str,
    tombstone: &'static str,
    clear_refunds: String,
    insert_refund: String,
    record_refund: String,
    refunds: String,
}

impl OrderBook {
    fn new(
        orders: (&'static str, &'static str, &'static str),
        refunds: &str,
        records: &str,
    ) -> Self {
        let (schema, upsert, tombstone) = orders;
        let name = |sql: &str| {
            sql.replace("{refunds}", refunds)
                .replace("{records}", records)
        };
        OrderBook {
            schema: format!("{schema}\n{}", name(include_str!("refunds_schema.sql"))),
            upsert,
            tombstone,
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
    pub fn apply<O: KeptOrder>(
        &'static self,
        tx: &BatchTx<'_>,
        recorded: &RecordedEvent,
        fact: &OrderFact<O>,
        company: CompanyId,
        integration: IntegrationId,
        at: OffsetDateTime,
    ) -> Result<(), ProjectionError> {
        let integration = integration.0.into_bytes();
        let event = recorded.event_id.into_bytes();
        let key = |version_at: OffsetDateTime| Key {
            integration: &integration,
            company,
            version_at: millis(version_at),
            event: &event,
            position: recorded.position.0,
        };
        match fact {
            OrderFact::Order(order) => {
                let won =
                    order.upsert(tx, self.upsert, &key(order.date_modified().unwrap_or(at)))?;
                if won > 0 {
                    self.replace_refunds(tx, &integration, order.id(), order.refund_lines())?;
                }
            }
            OrderFact::Deleted(id) => {
                if O::tombstone(tx, self.tombstone, *id, &key(at))? > 0 {
                    self.replace_refunds(tx, &integration, *id, &[])?;
                }
            }
            OrderFact::Refund(refund) => {
                let Some(order) = refund.order() else {
                    return Ok(());
                };
                tx.with(&self.record_refund, |s| {
                    s.execute(params![
                        integration,
                        order.0 as i64,
                        refund.id.0 as i64,
                        refund.amount.unwrap_or_default().normalized().to_string(),
                        refund.reason,
                        millis(refund.date_created_gmt.unwrap_or(at)),
                        millis(at),
                        event,
                    ])
                })?;
            }
        }
        Ok(())
    }

    /// Makes the order's listed refunds `lines` (none for a deletion).
    fn replace_refunds(
        &'static self,
        tx: &BatchTx<'_>,
        integration: &[u8; 16],
        id: WooId,
        lines: &[OrderRefundLine],
    ) -> rusqlite::Result<()> {
        tx.with(&self.clear_refunds, |s| {
            s.execute(params![integration, id.0 as i64])
        })?;
        for line in lines {
            let Some(total) = line.total else { continue };
            tx.with(&self.insert_refund, |s| {
                s.execute(params![
                    integration,
                    id.0 as i64,
                    line.id.0 as i64,
                    Money(-total.0).normalized().to_string(),
                    line.reason,
                ])
            })?;
        }
        Ok(())
    }

    /// The refunds of an order of the store `integration` (its 16-byte id) as of its version
    /// `version_at`: those it lists, and refunds created after it that it could not list yet.
    pub fn refunds(
        &self,
        conn: &Connection,
        integration: &[u8],
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
pub(crate) static ORDERS: LazyLock<OrderBook> = LazyLock::new(|| {
    OrderBook::new(
        (
            include_str!("full_schema.sql"),
            include_str!("full_upsert.sql"),
            include_str!("full_tombstone.sql"),
        ),
        "order_refunds",
        "order_refund_records",
    )
});

/// The order tables of the `subscribers` read model.
pub(crate) static SUBSCRIBER_ORDERS: LazyLock<OrderBook> = LazyLock::new(|| {
    OrderBook::new(
        (
            include_str!("summary_schema.sql"),
            include_str!("summary_upsert.sql"),
            include_str!("summary_tombstone.sql"),
        ),
        "subscriber_refunds",
        "subscriber_refund_records",
    )
});

/// The total of refund rows; `None` when it does not fit a decimal.
pub(crate) fn refunded(refunds: &[RefundRow]) -> Option<Money> {
    refunds
        .iter()
        .filter_map(|r| Money::parse_json(&r.amount).ok().flatten())
        .try_fold(Money::ZERO, |total, a| total.0.checked_add(a.0).map(Money))
}
