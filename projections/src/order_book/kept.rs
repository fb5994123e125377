//! How each copy of the order tables writes an order: the whole order for `orders`, the summary
//! for `subscribers`, each with its own upsert and tombstone parameters.

use rusqlite::params;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use woo_domain::CompanyId;
use woo_domain::commerce::lenient::{Money, WooId};
use woo_domain::commerce::resources::{Order, OrderRefundLine, OrderSummary};
use woo_domain::values::Email;
use woo_projector::{BatchTx, ProjectionError};

use super::{Coupon, LineItem, Shipping};
use crate::decode::millis;

/// Where an order version is written: its store and company, its version and the event.
pub(crate) struct Key<'a> {
    pub integration: &'a [u8; 16],
    pub company: CompanyId,
    pub version_at: i64,
    pub event: &'a [u8; 16],
    /// The event's position in the log, for the error of an order that does not store.
    pub position: u64,
}

/// An order as one copy of the order tables keeps it: how its row is written.
pub(crate) trait KeptOrder: DeserializeOwned {
    fn id(&self) -> WooId;
    fn date_modified(&self) -> Option<OffsetDateTime>;
    fn refund_lines(&self) -> &[OrderRefundLine];
    /// Upserts the row; the number of rows written (0: an equal or newer version is kept).
    fn upsert(
        &self,
        tx: &BatchTx<'_>,
        sql: &'static str,
        key: &Key<'_>,
    ) -> Result<usize, ProjectionError>;
    /// Runs the tombstone statement of order `id`; the number of rows written.
    fn tombstone(
        tx: &BatchTx<'_>,
        sql: &'static str,
        id: WooId,
        key: &Key<'_>,
    ) -> rusqlite::Result<usize>;
}

impl KeptOrder for Order {
    fn id(&self) -> WooId {
        self.id
    }

    fn date_modified(&self) -> Option<OffsetDateTime> {
        self.date_modified_gmt
    }

    fn refund_lines(&self) -> &[OrderRefundLine] {
        &self.refunds
    }

    fn upsert(
        &self,
        tx: &BatchTx<'_>,
        sql: &'static str,
        key: &Key<'_>,
    ) -> Result<usize, ProjectionError> {
        let json = |value: Result<String, serde_json::Error>| {
            value.map_err(|e| ProjectionError::Event {
                position: key.position,
                message: e.to_string(),
            })
        };
        let items = json(serde_json::to_string(&line_items(self)))?;
        let coupons = json(serde_json::to_string(&coupons(self)))?;
        let shipping = json(serde_json::to_string(&shipping(self)))?;
        let money = |m: Option<Money>| m.map(|m| m.to_string());
        Ok(tx.with(sql, |s| {
            s.execute(params![
                key.integration,
                self.id.0 as i64,
                key.company.0.as_bytes(),
                number(self.id, &self.number),
                self.status,
                self.currency,
                self.total.unwrap_or_default().to_string(),
                money(self.discount_total),
                money(self.shipping_total),
                self.payment_method_title,
                self.customer_id.0 as i64,
                email(&self.billing.email),
                self.date_created_gmt.map(millis),
                self.date_modified_gmt.map(millis),
                self.date_paid_gmt.map(millis),
                self.date_completed_gmt.map(millis),
                items,
                coupons,
                shipping,
                key.version_at,
                key.event,
            ])
        })?)
    }

    fn tombstone(
        tx: &BatchTx<'_>,
        sql: &'static str,
        id: WooId,
        key: &Key<'_>,
    ) -> rusqlite::Result<usize> {
        tx.with(sql, |s| {
            s.execute(params![
                key.integration,
                id.0 as i64,
                key.company.0.as_bytes(),
                id.to_string(),
                key.version_at,
                key.event,
            ])
        })
    }
}

impl KeptOrder for OrderSummary {
    fn id(&self) -> WooId {
        self.id
    }

    fn date_modified(&self) -> Option<OffsetDateTime> {
        self.date_modified_gmt
    }

    fn refund_lines(&self) -> &[OrderRefundLine] {
        &self.refunds
    }

    fn upsert(
        &self,
        tx: &BatchTx<'_>,
        sql: &'static str,
        key: &Key<'_>,
    ) -> Result<usize, ProjectionError> {
        Ok(tx.with(sql, |s| {
            s.execute(params![
                key.integration,
                self.id.0 as i64,
                key.company.to_string(),
                self.status,
                self.currency,
                self.total.unwrap_or_default().to_string(),
                self.customer_id.0 as i64,
                email(&self.billing.email),
                self.date_created_gmt.map(millis),
                key.version_at,
                key.event,
            ])
        })?)
    }

    fn tombstone(
        tx: &BatchTx<'_>,
        sql: &'static str,
        id: WooId,
        key: &Key<'_>,
    ) -> rusqlite::Result<usize> {
        tx.with(sql, |s| {
            s.execute(params![
                key.integration,
                id.0 as i64,
                key.company.to_string(),
                key.version_at,
                key.event,
            ])
        })
    }
}

/// What the merchant calls an order: its number, or its id when it has none.
fn number(id: WooId, number: &str) -> String {
    if number.is_empty() {
        id.to_string()
    } else {
        number.to_owned()
    }
}

/// The normalised billing email, `None` when it has none.
fn email(text: &str) -> Option<String> {
    Email::parse(text).ok().map(|e| e.to_string())
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
