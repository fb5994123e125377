//! Subscribers: one per company and normalised email, from customers, guest buyers, orders and
//! shopper activity. Registered when a customer id is known, guest otherwise. Order count, spend per
//! currency net of refunds, and first and last order are computed from the subscriber's orders when
//! asked, so out-of-order updates of an order can never be counted twice.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use time::OffsetDateTime;
use woo_domain::commerce::lenient::{Money, WooId};
use woo_domain::commerce::resources::{Customer, GuestBuyer, ShopperActivity};
use woo_domain::values::Email;
use woo_domain::{CompanyId, EventMetadata, IntegrationId};
use woo_eventlog::RecordedEvent;
use woo_projector::{Projection, ProjectionError};

use crate::decode::{from_millis, millis, read_data, read_metadata, stream_id};
use crate::orders::{NOT_PLACED, OrderFact, is_order_event, read_order_fact, refund_lines, sum};

pub struct Subscribers;

impl Projection for Subscribers {
    fn name(&self) -> &'static str {
        "subscribers"
    }

    fn version(&self) -> u32 {
        2
    }

    fn schema(&self) -> &'static str {
        include_str!("schema.sql")
    }

    fn drop_schema(&self) -> &'static str {
        include_str!("drop.sql")
    }

    fn apply(&self, tx: &Transaction<'_>, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        let kind = recorded.event_type.as_str();
        if !kind.starts_with("ecommerce.") || kind.starts_with("ecommerce.product_") {
            return Ok(());
        }
        let metadata: EventMetadata = read_metadata(recorded)?;
        let Some(company) = metadata.company_id else {
            return Ok(());
        };
        let at = millis(metadata.occurred_at);
        let event = recorded.event_id.to_string();
        let person = |email: &str, customer: WooId, first: &str, last: &str| Person {
            email: Email::parse(email).ok(),
            customer,
            first: first.to_owned(),
            last: last.to_owned(),
        };
        let who = match kind {
            "ecommerce.customer_created"
            | "ecommerce.customer_updated"
            | "ecommerce.customer_synced" => {
                let c: Customer = read_data(recorded)?;
                let email = if c.email.trim().is_empty() {
                    &c.billing.email
                } else {
                    &c.email
                };
                let first = if c.first_name.is_empty() {
                    &c.billing.first_name
                } else {
                    &c.first_name
                };
                let last = if c.last_name.is_empty() {
                    &c.billing.last_name
                } else {
                    &c.last_name
                };
                person(email, c.id, first, last)
            }
            "ecommerce.guest_buyer_synced" => {
                let g: GuestBuyer = read_data(recorded)?;
                person(&g.email, WooId(0), &g.first_name, &g.last_name)
            }
            _ if is_order_event(kind) => {
                let integration: IntegrationId = stream_id(recorded, "store-")?;
                match read_order_fact(recorded)? {
                    OrderFact::Refund {
                        order,
                        refund,
                        amount,
                    } => {
                        insert_refund(tx, company, integration, order, refund, amount)?;
                        return Ok(());
                    }
                    OrderFact::Order(order) => {
                        let who = person(
                            &order.billing.email,
                            order.customer_id,
                            &order.billing.first_name,
                            &order.billing.last_name,
                        );
                        if let Some(email) = &who.email {
                            let version_at =
                                millis(order.date_modified_gmt.unwrap_or(metadata.occurred_at));
                            tx.prepare_cached(include_str!("order.sql"))?
                                .execute(params![
                                    company.to_string(),
                                    integration.to_string(),
                                    order.id.0 as i64,
                                    email.as_str(),
                                    !NOT_PLACED.contains(&order.status.as_str()),
                                    order.currency,
                                    order.total.unwrap_or_default().to_string(),
                                    order.date_created_gmt.map(millis),
                                    version_at,
                                    event,
                                ])?;
                        }
                        for (refund, amount) in refund_lines(&order) {
                            insert_refund(tx, company, integration, order.id, refund, amount)?;
                        }
                        who
                    }
                }
            }
            _ => {
                let s: ShopperActivity = read_data(recorded)?;
                person(&s.email, s.customer_id, &s.first_name, &s.last_name)
            }
        };
        if let Some(email) = &who.email {
            remember(tx, company, email, &who, at, &event)?;
        }
        Ok(())
    }
}

struct Person {
    email: Option<Email>,
    customer: WooId,
    first: String,
    last: String,
}

fn remember(
    tx: &Transaction<'_>,
    company: CompanyId,
    email: &Email,
    who: &Person,
    at: i64,
    event: &str,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO subscribers (company_id, email, customer_id) VALUES (?1, ?2, ?3)
         ON CONFLICT (company_id, email) DO UPDATE SET customer_id = max(customer_id, excluded.customer_id)",
    )?
    .execute(params![company.to_string(), email.as_str(), who.customer.0 as i64])?;
    // Each name is its own last-writer-wins register, written only by events that carry it: a
    // cart that knows a first name only must not wipe the last name a customer record gave.
    for (field, value) in [
        ("first_name", who.first.trim()),
        ("last_name", who.last.trim()),
    ] {
        if value.is_empty() {
            continue;
        }
        // `field` is one of two column names fixed above, never input.
        let sql = format!(
            "UPDATE subscribers SET {field} = ?3, {field}_at = ?4, {field}_event = ?5
             WHERE company_id = ?1 AND email = ?2
               AND ({field}_at IS NULL OR {field}_at < ?4 OR ({field}_at = ?4 AND {field}_event < ?5))"
        );
        tx.prepare_cached(&sql)?.execute(params![
            company.to_string(),
            email.as_str(),
            value,
            at,
            event
        ])?;
    }
    Ok(())
}

fn insert_refund(
    tx: &Transaction<'_>,
    company: CompanyId,
    integration: IntegrationId,
    order: WooId,
    refund: WooId,
    amount: Money,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO subscriber_refunds (company_id, integration_id, order_id, refund_id, amount)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![company.to_string(), integration.to_string(), order.0 as i64, refund.0 as i64, amount.normalized().to_string()])?;
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Subscriber {
    pub email: String,
    /// `registered` with a customer id, or `guest`.
    pub kind: &'static str,
    pub customer_id: Option<u64>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub orders_count: u64,
    /// Net of refunds, per currency.
    pub total_spent: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub first_order_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_order_at: Option<OffsetDateTime>,
}

pub fn get(
    conn: &Connection,
    company: CompanyId,
    email: &str,
) -> rusqlite::Result<Option<Subscriber>> {
    let row = conn
        .prepare_cached("SELECT customer_id, first_name, last_name FROM subscribers WHERE company_id = ?1 AND email = ?2")?
        .query_row(params![company.to_string(), email], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, Option<String>>(2)?))
        })
        .optional()?;
    let Some((customer_id, first_name, last_name)) = row else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT o.currency, o.total, o.date_created,
                (SELECT group_concat(amount, ' ') FROM subscriber_refunds r
                 WHERE r.company_id = o.company_id AND r.integration_id = o.integration_id AND r.order_id = o.order_id)
         FROM subscriber_orders o WHERE o.company_id = ?1 AND o.email = ?2 AND o.counted = 1",
    )?;
    let orders: Vec<(String, String, Option<i64>, Option<String>)> = stmt
        .query_map(params![company.to_string(), email], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut spent: BTreeMap<String, Money> = BTreeMap::new();
    for (currency, total, _, refunds) in &orders {
        let total = Money::parse_json(total).ok().flatten().unwrap_or_default();
        let net = Money(total.0 - sum(refunds.as_deref()).0);
        let entry = spent.entry(currency.clone()).or_default();
        *entry = *entry + net;
    }
    let created = orders.iter().filter_map(|o| o.2);
    Ok(Some(Subscriber {
        email: email.to_owned(),
        kind: if customer_id > 0 {
            "registered"
        } else {
            "guest"
        },
        customer_id: u64::try_from(customer_id).ok().filter(|id| *id > 0),
        first_name,
        last_name,
        orders_count: orders.len() as u64,
        total_spent: spent.into_iter().map(|(c, m)| (c, m.to_string())).collect(),
        first_order_at: created.clone().min().map(from_millis),
        last_order_at: created.max().map(from_millis),
    }))
}

/// A company's subscriber emails after `after`, in email order; `prefix` narrows to emails
/// starting with it.
pub fn emails(
    conn: &Connection,
    company: CompanyId,
    prefix: &str,
    after: &str,
    limit: usize,
) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT email FROM subscribers WHERE company_id = ?1 AND email > ?2 AND substr(email, 1, length(?3)) = ?3
         ORDER BY email LIMIT ?4",
    )?;
    stmt.query_map(
        params![
            company.to_string(),
            after,
            prefix,
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        |r| r.get(0),
    )?
    .collect()
}
