//! Subscribers: one per company and normalised email, from customer accounts, guest buyers, orders
//! and shopper activity. Order count, spend per currency net of refunds, and first and last order
//! are computed from the orders when asked, so out-of-order updates never count twice.
//!
//! A registered customer is one subscriber, under their account email, with every order of their
//! account whatever billing email those orders carry. That is how WooCommerce itself counts a
//! customer's orders and spend (by customer id, in the Customers report and in
//! `wc_get_customer_order_count`), and what a merchant who looks the customer up expects. Peers that
//! key buyers by billing email (Mailchimp's `md5(billing email)` customer, MailPoet's guests from
//! `billing_email`) split such a customer in two, with the account in one contact and the orders
//! in the other. Until the account is known, an order's billing email stands for the buyer; when
//! an account is deleted, WooCommerce turns its orders into guest orders, and so does this view.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use time::OffsetDateTime;
use woo_domain::commerce::lenient::{Money, WooId};
use woo_domain::commerce::resources::{
    Customer, Deletion, GuestBuyer, OrderSummary, Shopper, only_id,
};
use woo_domain::commerce::{CommerceEventType, Subject};
use woo_domain::values::Email;
use woo_domain::{CompanyId, IntegrationId};
use woo_eventlog::RecordedEvent;
use woo_projector::{BatchTx, Projection, ProjectionError};

use crate::decode::{from_millis, integration, millis, read_data, read_head};
use crate::names::ReadModel;
use crate::order_book::{NOT_PLACED, OrderFact, SUBSCRIBER_ORDERS, order_fact, refunded};
use woo_domain::streams::Category;

mod listing;

pub use listing::{Filter, Keyset, Listing, page};

pub struct Subscribers;

static SCHEMA: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{}\n{}",
        include_str!("schema.sql"),
        SUBSCRIBER_ORDERS.schema
    )
});

/// Whether subscriber row `s` is someone the company has now: a live customer account, a shopper
/// who gave the email, or an order that belongs to the email (not a registered customer's order
/// billed to another address). Without statistics the planner would read every account of the
/// company (its primary key) to find one email's: hence INDEXED BY.
const LISTED: &str = "(s.contact = 1
    OR EXISTS (SELECT 1 FROM subscriber_customers c INDEXED BY subscriber_customers_email
               WHERE c.company_id = s.company_id AND c.email = s.email AND c.deleted = 0)
    OR EXISTS (SELECT 1 FROM subscriber_orders o
               WHERE o.company_id = s.company_id AND o.email = s.email AND o.deleted = 0
                 AND NOT EXISTS (SELECT 1 FROM subscriber_customers c
                                 WHERE c.company_id = o.company_id AND c.integration_id = o.integration_id
                                   AND c.customer_id = o.customer_id AND o.customer_id > 0 AND c.deleted = 0
                                   AND c.email <> '' AND c.email <> o.email)))";

impl Projection for Subscribers {
    fn name(&self) -> &'static str {
        ReadModel::Subscribers.name()
    }

    fn version(&self) -> u32 {
        4
    }

    fn schema(&self) -> &'static str {
        &SCHEMA
    }

    fn drop_schema(&self) -> &'static str {
        include_str!("drop.sql")
    }

    fn apply(&self, tx: &BatchTx<'_>, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        let Some(kind) = CommerceEventType::parse(&recorded.event_type) else {
            return Ok(());
        };
        if kind.subject() == Subject::Product {
            return Ok(());
        }
        let metadata = read_head(recorded)?;
        let Some(company) = metadata.company_id else {
            return Ok(());
        };
        let at = millis(metadata.occurred_at);
        let event = recorded.event_id.into_bytes();
        let person = |email: &str, first: &str, last: &str| Person {
            email: Email::parse(email).ok(),
            customer: WooId(0),
            contact: false,
            first: first.to_owned(),
            last: last.to_owned(),
        };
        let who = match kind.subject() {
            Subject::Customer => {
                let integration: IntegrationId = integration(recorded, Category::Store)?;
                let deleted = if kind.is_deletion() {
                    Some(read_data::<Deletion>(recorded)?.id)
                } else {
                    only_id(&recorded.data)
                };
                if let Some(id) = deleted {
                    let account = Account {
                        id,
                        email: None,
                        version_at: at,
                    };
                    record_account(tx, company, integration, &account, &event)?;
                    return Ok(());
                }
                let c: Customer = read_data(recorded)?;
                let or = |own: &str, billing: &'_ str| -> String {
                    if own.trim().is_empty() {
                        billing.to_owned()
                    } else {
                        own.to_owned()
                    }
                };
                let who = person(
                    &or(&c.email, &c.billing.email),
                    &or(&c.first_name, &c.billing.first_name),
                    &or(&c.last_name, &c.billing.last_name),
                );
                let account = Account {
                    id: c.id,
                    email: who.email.as_ref(),
                    version_at: millis(c.date_modified_gmt.unwrap_or(metadata.occurred_at)),
                };
                record_account(tx, company, integration, &account, &event)?;
                who
            }
            Subject::GuestBuyer => {
                let g: GuestBuyer = read_data(recorded)?;
                Person {
                    contact: true,
                    ..person(&g.email, &g.first_name, &g.last_name)
                }
            }
            Subject::Order => {
                let integration: IntegrationId = integration(recorded, Category::Store)?;
                let Some(fact) = order_fact::<OrderSummary>(recorded)? else {
                    return Ok(());
                };
                SUBSCRIBER_ORDERS.apply(
                    tx,
                    recorded,
                    &fact,
                    company,
                    integration,
                    metadata.occurred_at,
                )?;
                let OrderFact::Order(order) = fact else {
                    return Ok(());
                };
                person(
                    &order.billing.email,
                    &order.billing.first_name,
                    &order.billing.last_name,
                )
            }
            Subject::Shopper => {
                let s: Shopper = read_data(recorded)?;
                Person {
                    customer: s.customer_id,
                    contact: true,
                    ..person(&s.email, &s.first_name, &s.last_name)
                }
            }
            Subject::Product => return Ok(()),
        };
        if let Some(email) = &who.email {
            remember(tx, company, email, &who, at, &event)?;
        }
        Ok(())
    }
}

struct Person {
    email: Option<Email>,
    /// The customer id a shopper's own activity names.
    customer: WooId,
    contact: bool,
    first: String,
    last: String,
}

/// A customer account as of `version_at`; `email: None` for a deleted one.
struct Account<'a> {
    id: WooId,
    email: Option<&'a Email>,
    version_at: i64,
}

fn record_account(
    tx: &BatchTx<'_>,
    company: CompanyId,
    integration: IntegrationId,
    account: &Account<'_>,
    event: &[u8; 16],
) -> rusqlite::Result<()> {
    tx.with(include_str!("customer.sql"), |s| {
        s.execute(params![
            company.to_string(),
            integration.0.as_bytes(),
            account.id.0 as i64,
            account.email.map(Email::as_str).unwrap_or_default(),
            account.email.is_none(),
            account.version_at,
            event,
        ])
    })?;
    Ok(())
}

fn remember(
    tx: &BatchTx<'_>,
    company: CompanyId,
    email: &Email,
    who: &Person,
    at: i64,
    event: &[u8; 16],
) -> rusqlite::Result<()> {
    // Each name is its own last-writer-wins register, written only by events that carry it: a
    // cart that knows a first name only must not wipe the last name a customer record gave. One
    // upsert does the row and both registers (SET reads the row as it was), where a statement
    // per register cost two more executions for every order and customer event.
    let (first, last) = (named(&who.first), named(&who.last));
    tx.with(include_str!("remember.sql"), |s| {
        s.execute(params![
            company.to_string(),
            email.as_str(),
            who.customer.0 as i64,
            who.contact,
            first,
            first.as_ref().map(|_| at),
            first.as_ref().map(|_| event),
            last,
            last.as_ref().map(|_| at),
            last.as_ref().map(|_| event),
        ])
    })?;
    Ok(())
}

/// A name as its register keeps it: `None` when the event carries none.
fn named(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|v| !v.is_empty())
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

/// An order that belongs to a subscriber, as `orders.sql` reads it.
struct Owned {
    /// The store's 16-byte id.
    integration: Vec<u8>,
    order_id: i64,
    status: String,
    currency: String,
    total: String,
    created: Option<i64>,
    version_at: i64,
    customer_id: i64,
}

pub fn get(
    conn: &Connection,
    company: CompanyId,
    email: &str,
) -> rusqlite::Result<Option<Subscriber>> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT s.customer_id, s.first_name, s.last_name,
                    (SELECT max(customer_id) FROM subscriber_customers c INDEXED BY subscriber_customers_email
                     WHERE c.company_id = s.company_id AND c.email = s.email AND c.deleted = 0)
             FROM subscribers s WHERE s.company_id = ?1 AND s.email = ?2 AND {LISTED}"
        ))?
        .query_row(params![company.to_string(), email], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })
        .optional()?;
    let Some((activity_customer, first_name, last_name, account)) = row else {
        return Ok(None);
    };
    let owned: Vec<Owned> = conn
        .prepare_cached(include_str!("orders.sql"))?
        .query_map(params![company.to_string(), email], |r| {
            Ok(Owned {
                integration: r.get(0)?,
                order_id: r.get(1)?,
                status: r.get(2)?,
                currency: r.get(3)?,
                total: r.get(4)?,
                created: r.get(5)?,
                version_at: r.get(6)?,
                customer_id: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let placed: Vec<&Owned> = owned
        .iter()
        .filter(|o| !NOT_PLACED.contains(&o.status.as_str()))
        .collect();
    // `None`: the currency's sum does not fit a decimal, and is shown as out of range.
    let mut spent: BTreeMap<String, Option<Money>> = BTreeMap::new();
    for order in &placed {
        let refunds = SUBSCRIBER_ORDERS.refunds(
            conn,
            &order.integration,
            order.order_id,
            order.version_at,
        )?;
        let total = Money::parse_json(&order.total)
            .ok()
            .flatten()
            .unwrap_or_default();
        let net = refunded(&refunds).and_then(|r| total.0.checked_sub(r.0));
        let entry = spent
            .entry(order.currency.clone())
            .or_insert(Some(Money::ZERO));
        *entry = entry
            .zip(net)
            .and_then(|(sum, net)| sum.0.checked_add(net).map(Money));
    }
    let created = placed.iter().filter_map(|o| o.created);
    let customer_id = account
        .or_else(|| owned.iter().map(|o| o.customer_id).max())
        .filter(|id| *id > 0)
        .unwrap_or(activity_customer);
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
        orders_count: placed.len() as u64,
        total_spent: spent
            .into_iter()
            .map(|(c, m)| {
                (
                    c,
                    m.map_or_else(|| crate::OUT_OF_RANGE.to_owned(), |m| m.to_string()),
                )
            })
            .collect(),
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
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT s.email FROM subscribers s
         WHERE s.company_id = ?1 AND s.email > ?2 AND substr(s.email, 1, length(?3)) = ?3 AND {LISTED}
         ORDER BY s.email LIMIT ?4"
    ))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The query plan of `sql` with every parameter bound to NULL, one line per step.
    fn plan(conn: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
        stmt.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn each_name_is_the_newest_write_that_carried_it_whatever_the_order() {
        let writes = [
            // (at, event id byte, first, last, customer, contact)
            (5, 1, Some("Ada"), None, 0, false),
            (5, 2, Some("Grace"), Some("Hopper"), 7, false),
            (9, 0, None, Some("Lovelace"), 3, true),
            (i64::MIN, 9, Some("Early"), Some("Early"), 0, false),
        ];
        let mut seen = Vec::new();
        for order in [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1], [1, 3, 0, 2]] {
            let mut conn = Connection::open_in_memory().unwrap();
            conn.execute_batch(&SCHEMA).unwrap();
            let tx = conn.transaction().unwrap();
            let batch = BatchTx::new(&tx);
            let email = Email::parse("ada@example.com").unwrap();
            for (at, id, first, last, customer, contact) in order.map(|n| writes[n]) {
                let who = Person {
                    email: None,
                    customer: WooId(customer),
                    contact,
                    first: first.unwrap_or_default().to_owned(),
                    last: last.unwrap_or_default().to_owned(),
                };
                remember(
                    &batch,
                    CompanyId(uuid::Uuid::nil()),
                    &email,
                    &who,
                    at,
                    &[id; 16],
                )
                .unwrap();
            }
            seen.push(
                tx.query_row(
                    "SELECT first_name, last_name, customer_id, contact FROM subscribers",
                    [],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, bool>(3)?,
                        ))
                    },
                )
                .unwrap(),
            );
        }
        let expected = ("Grace".to_owned(), "Lovelace".to_owned(), 7, true);
        assert!(seen.iter().all(|s| *s == expected), "{seen:?}");
    }

    #[test]
    fn a_subscribers_orders_and_listing_are_found_through_indexes_not_company_scans() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&SCHEMA).unwrap();
        let listing = format!(
            "SELECT s.email FROM subscribers s WHERE s.company_id = ?1 AND s.email > ?2 AND {LISTED}"
        );
        for sql in [include_str!("orders.sql"), listing.as_str()] {
            let steps = plan(&conn, sql);
            let scans: Vec<&String> = steps
                .iter()
                .filter(|s| s.starts_with("SCAN ") && !s.starts_with("SCAN m"))
                .collect();
            assert!(scans.is_empty(), "{sql}\n{steps:#?}");
            // A search by the company alone reads every order or account of the company.
            let company_only: Vec<&String> = steps
                .iter()
                .filter(|s| s.ends_with("(company_id=?)"))
                .collect();
            assert!(company_only.is_empty(), "{sql}\n{steps:#?}");
        }
    }
}
