//! A store's event stream as a merchant reads it (`GET /integrations/{id}/events`, newest first):
//! each event with who, how much and what it is about, read from the log itself, so the page
//! shows exactly what was received even for events no read model keeps.

use serde::Serialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use uuid::Uuid;
use woo_domain::commerce::lenient::Money;
use woo_domain::commerce::resources::{
    Customer, Deletion, GuestBuyer, Order, Product, ShopperActivity,
};
use woo_domain::commerce::{self, CommerceEventType, Subject};
use woo_domain::values::Email;
use woo_domain::{EventMetadata, IntegrationId, Source};
use woo_eventlog::{Direction, EventLog, ReadFrom, RecordedEvent, StorageError};

use crate::order_book::{OrderFact, order_fact};

/// What an event is about, in the words of the store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The shopper's normalised email.
    pub shopper: Option<String>,
    pub amount: Option<String>,
    pub currency: Option<String>,
    /// The order number (`#723` without the `#`).
    pub order: Option<String>,
    pub status: Option<String>,
    /// The product's (or variation's) label.
    pub product: Option<String>,
    /// Names of the lines of an order or a cart.
    pub items: Vec<String>,
    /// A refund's reason.
    pub reason: Option<String>,
    /// The id of what a deletion removed.
    pub deleted: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StoreEvent {
    pub revision: u64,
    pub position: u64,
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub source: Option<Source>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub occurred_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    pub summary: Summary,
    pub data: Box<RawValue>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Page {
    pub events: Vec<StoreEvent>,
    /// Pass as `before` for the next (older) page; `None` on the last one.
    pub next_before: Option<u64>,
}

/// Up to `limit` events of the store's stream before revision `before` (the newest without it),
/// newest first.
pub async fn page(
    log: &dyn EventLog,
    integration: IntegrationId,
    before: Option<u64>,
    limit: usize,
) -> Result<Page, StorageError> {
    let from = match before {
        Some(0) => {
            return Ok(Page {
                events: Vec::new(),
                next_before: None,
            });
        }
        Some(before) => ReadFrom::At(before - 1),
        None => ReadFrom::End,
    };
    let recorded = log
        .read_stream(
            &commerce::stream(integration),
            from,
            Direction::Backwards,
            limit,
        )
        .await?;
    let next_before = recorded
        .last()
        .map(|e| e.revision)
        .filter(|r| *r > 0 && recorded.len() == limit);
    Ok(Page {
        events: recorded.into_iter().map(readable).collect(),
        next_before,
    })
}

fn readable(recorded: RecordedEvent) -> StoreEvent {
    let metadata: Option<EventMetadata> = serde_json::from_str(recorded.metadata.get()).ok();
    StoreEvent {
        revision: recorded.revision,
        position: recorded.position.0,
        event_id: recorded.event_id,
        source: metadata.as_ref().map(|m| m.source),
        occurred_at: metadata.map(|m| m.occurred_at),
        recorded_at: recorded.recorded_at,
        summary: describe(&recorded),
        event_type: recorded.event_type,
        data: recorded.data,
    }
}

fn email(text: &str) -> Option<String> {
    Email::parse(text).ok().map(|e| e.to_string())
}

/// The summary of one stored event; empty for an event whose data does not read.
pub fn describe(recorded: &RecordedEvent) -> Summary {
    let Some(kind) = CommerceEventType::parse(&recorded.event_type) else {
        return Summary::default();
    };
    let data = recorded.data.get();
    let deleted = if kind.is_deletion() {
        serde_json::from_str::<Deletion>(data).ok().map(|d| d.id)
    } else {
        commerce::resources::only_id(&recorded.data)
    };
    if deleted.is_some() || kind.is_deletion() {
        return Summary {
            deleted: deleted.map(|id| id.0),
            ..Summary::default()
        };
    }
    match kind.subject() {
        Subject::Order => match order_fact(recorded) {
            Ok(Some(OrderFact::Order(order))) => order_summary(&order),
            Ok(Some(OrderFact::Refund(refund))) => Summary {
                amount: refund.amount.map(|a| a.to_string()),
                order: refund.order().map(|o| o.to_string()),
                reason: Some(refund.reason.clone()).filter(|r| !r.is_empty()),
                ..Summary::default()
            },
            _ => Summary::default(),
        },
        Subject::Product => serde_json::from_str::<Product>(data)
            .map(|p| Summary {
                product: Some(p.label()),
                amount: p.price.map(|m| m.to_string()),
                ..Summary::default()
            })
            .unwrap_or_default(),
        Subject::Customer => serde_json::from_str::<Customer>(data)
            .map(|c| Summary {
                shopper: email(&c.email).or_else(|| email(&c.billing.email)),
                ..Summary::default()
            })
            .unwrap_or_default(),
        Subject::GuestBuyer => serde_json::from_str::<GuestBuyer>(data)
            .map(|g| Summary {
                shopper: email(&g.email),
                ..Summary::default()
            })
            .unwrap_or_default(),
        Subject::Shopper => serde_json::from_str::<ShopperActivity>(data)
            .map(|s| Summary {
                shopper: email(&s.email),
                amount: s.cart.totals.value().map(|v| v.to_string()),
                currency: Some(s.cart.totals.currency_code.clone()).filter(|c| !c.is_empty()),
                items: s.cart.items.iter().map(|i| i.name.clone()).collect(),
                ..Summary::default()
            })
            .unwrap_or_default(),
    }
}

fn order_summary(order: &Order) -> Summary {
    Summary {
        shopper: email(&order.billing.email),
        amount: Some(order.total.unwrap_or(Money::ZERO).to_string()),
        currency: Some(order.currency.clone()).filter(|c| !c.is_empty()),
        order: Some(if order.number.is_empty() {
            order.id.to_string()
        } else {
            order.number.clone()
        }),
        status: Some(order.status.clone()).filter(|s| !s.is_empty()),
        items: order.line_items.iter().map(|l| l.name.clone()).collect(),
        ..Summary::default()
    }
}
