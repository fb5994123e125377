//! Orders per store as the merchant sees them in WooCommerce: number, status, totals, line items,
//! coupons, shipping and refunds with their reasons, whatever order the updates arrived in. Live
//! and synced (historic) orders land here alike; deleted orders leave the list.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;
use woo_domain::commerce::resources::Order;
use woo_domain::{CompanyId, IntegrationId};
use woo_eventlog::RecordedEvent;
use woo_projector::{BatchTx, Projection, ProjectionError};

use crate::decode::{from_millis, integration, read_head};
use crate::names::ReadModel;
use crate::order_book::{ORDERS, order_fact, refunded};
use woo_domain::streams::Category;

pub use crate::order_book::{Coupon, LineItem, NOT_PLACED, RefundRow, Shipping};

pub struct Orders;

impl Projection for Orders {
    fn name(&self) -> &'static str {
        ReadModel::Orders.name()
    }

    fn version(&self) -> u32 {
        3
    }

    fn schema(&self) -> &'static str {
        &ORDERS.schema
    }

    fn drop_schema(&self) -> &'static str {
        include_str!("drop.sql")
    }

    fn apply(&self, tx: &BatchTx<'_>, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        let Some(fact) = order_fact::<Order>(recorded)? else {
            return Ok(());
        };
        let integration: IntegrationId = integration(recorded, Category::Store)?;
        let metadata = read_head(recorded)?;
        let Some(company) = metadata.company_id else {
            return Ok(());
        };
        ORDERS.apply(
            tx,
            recorded,
            &fact,
            company,
            integration,
            metadata.occurred_at,
        )
    }
}

/// An order in a store's list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrderRow {
    pub order_id: u64,
    /// What the merchant calls it (`#723`).
    pub number: String,
    pub status: String,
    pub currency: String,
    pub total: String,
    /// Positive, with the decimals of `total`.
    pub refunded: String,
    pub customer_id: u64,
    pub email: Option<String>,
    pub items_count: usize,
    #[serde(with = "time::serde::rfc3339::option")]
    pub date_created: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub date_modified: Option<OffsetDateTime>,
}

/// One order with everything the merchant reads in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrderDetail {
    #[serde(flatten)]
    pub order: OrderRow,
    pub discount_total: Option<String>,
    pub shipping_total: Option<String>,
    pub payment_method: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub date_paid: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub date_completed: Option<OffsetDateTime>,
    pub line_items: Vec<LineItem>,
    pub coupons: Vec<Coupon>,
    pub shipping: Vec<Shipping>,
    pub refunds: Vec<RefundRow>,
}

const COLUMNS: &str = "order_id, number, status, currency, total, customer_id, email, date_created, date_modified,
     version_at, line_items, discount_total, shipping_total, payment_method, date_paid, date_completed, coupons,
     shipping";

fn json<T: serde::de::DeserializeOwned + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}

/// `integration` is the store's 16-byte id, as the tables keep it.
fn read_detail(
    conn: &Connection,
    integration: &[u8],
    row: &Row<'_>,
) -> rusqlite::Result<OrderDetail> {
    let id: i64 = row.get(0)?;
    let total: String = row.get(4)?;
    let refunds = ORDERS.refunds(conn, integration, id, row.get(9)?)?;
    let line_items: Vec<LineItem> = json(&row.get::<_, String>(10)?);
    let time = |i: usize| -> rusqlite::Result<Option<OffsetDateTime>> {
        Ok(row.get::<_, Option<i64>>(i)?.map(from_millis))
    };
    Ok(OrderDetail {
        order: OrderRow {
            order_id: u64::try_from(id).unwrap_or_default(),
            number: row.get(1)?,
            status: row.get(2)?,
            currency: row.get(3)?,
            refunded: refunded(&refunds).map_or_else(
                || crate::OUT_OF_RANGE.to_owned(),
                |r| r.with_scale_of(&total).to_string(),
            ),
            total,
            customer_id: u64::try_from(row.get::<_, i64>(5)?).unwrap_or_default(),
            email: row.get(6)?,
            items_count: line_items.len(),
            date_created: time(7)?,
            date_modified: time(8)?,
        },
        discount_total: row.get(11)?,
        shipping_total: row.get(12)?,
        payment_method: row.get(13)?,
        date_paid: time(14)?,
        date_completed: time(15)?,
        line_items,
        coupons: json(&row.get::<_, String>(16)?),
        shipping: json(&row.get::<_, String>(17)?),
        refunds,
    })
}

/// A store's orders, newest first by creation, at most `limit` (deleted orders are gone).
pub fn for_store(
    conn: &Connection,
    integration: IntegrationId,
    limit: usize,
) -> rusqlite::Result<Vec<OrderRow>> {
    let integration = integration.0.into_bytes();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM orders WHERE integration_id = ?1 AND deleted = 0
         ORDER BY date_created DESC, order_id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(
        params![integration, i64::try_from(limit).unwrap_or(i64::MAX)],
        |row| read_detail(conn, &integration, row).map(|d| d.order),
    )?;
    rows.collect()
}

/// Where a page of one shopper's orders ends: the last order's creation time (unix ms, 0 when
/// it has none), store and id. Orders come newest first, so the next page holds those before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailCursor {
    pub created: i64,
    pub integration_id: String,
    pub order_id: u64,
}

impl EmailCursor {
    /// `CREATED:INTEGRATION:ORDER`, as a page link carries it.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, ':');
        let created = parts.next()?.parse().ok()?;
        let integration_id: IntegrationId = parts.next()?.parse().ok()?;
        let order_id = parts.next()?.parse().ok()?;
        Some(Self {
            created,
            integration_id: integration_id.to_string(),
            order_id,
        })
    }
}

impl std::fmt::Display for EmailCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.created, self.integration_id, self.order_id
        )
    }
}

/// A shopper's order with the store it was placed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EmailOrder {
    pub integration_id: String,
    #[serde(flatten)]
    pub order: OrderRow,
}

impl EmailOrder {
    /// The cursor of the page that follows this order.
    pub fn cursor(&self) -> EmailCursor {
        EmailCursor {
            created: self.order.date_created.map_or(0, crate::decode::millis),
            integration_id: self.integration_id.clone(),
            order_id: self.order.order_id,
        }
    }
}

/// The orders of one shopper (normalised billing email) across a company's stores, newest first
/// by creation, those after `after` when given, at most `limit` (deleted orders are gone).
pub fn for_email(
    conn: &Connection,
    company: CompanyId,
    email: &str,
    after: Option<&EmailCursor>,
    limit: usize,
) -> rusqlite::Result<Vec<EmailOrder>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS}, integration_id FROM orders
         WHERE email = ?2 AND company_id = ?1 AND deleted = 0
           AND (?3 IS NULL OR (COALESCE(date_created, 0), integration_id, order_id) < (?3, ?4, ?5))
         ORDER BY COALESCE(date_created, 0) DESC, integration_id DESC, order_id DESC LIMIT ?6"
    ))?;
    let rows = stmt.query_map(
        params![
            company.0.as_bytes(),
            email,
            after.map(|a| a.created),
            after
                .and_then(|a| a.integration_id.parse::<Uuid>().ok())
                .map(Uuid::into_bytes),
            after.map(|a| i64::try_from(a.order_id).unwrap_or(i64::MAX)),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        |row| {
            let integration_id: [u8; 16] = row.get(18)?;
            Ok(EmailOrder {
                order: read_detail(conn, &integration_id, row)?.order,
                integration_id: Uuid::from_bytes(integration_id).to_string(),
            })
        },
    )?;
    rows.collect()
}

/// One order of a store with its line items, coupons, shipping and refunds; `None` when the store
/// has no such order (or it was deleted).
pub fn get(
    conn: &Connection,
    integration: IntegrationId,
    order_id: u64,
) -> rusqlite::Result<Option<OrderDetail>> {
    let integration = integration.0.into_bytes();
    let Ok(order_id) = i64::try_from(order_id) else {
        return Ok(None);
    };
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM orders WHERE integration_id = ?1 AND order_id = ?2 AND deleted = 0"
    ))?
    .query_row(params![integration, order_id], |row| {
        read_detail(conn, &integration, row)
    })
    .optional()
}
