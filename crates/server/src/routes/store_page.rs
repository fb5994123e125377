//! One store: its card, delivery diagnostics, connection and sync events, and its event stream as
//! a merchant reads it (shopper, amount, product, status; the raw JSON one click away), filtered
//! by kind, paged both ways, with events per hour over the last day drawn by the server.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use time::OffsetDateTime;
use woo_domain::{EventMetadata, StreamId};
use woo_eventlog::{Direction, ReadFrom, RecordedEvent};
use woo_projections::store_events::{self, StoreEvent};

use crate::auth::session;
use crate::html::{message_page, respond};
use crate::{ApiError, AppState};

use super::pages::to_login;
use super::pages::view::{ago, money, subscriber_link};
use super::settings::{not_found, shell, store_card, visible_store};

const PAGE: usize = 50;
/// Events the chart counts at most (the newest); a busier day shows its latest part.
const CHART_EVENTS: usize = 5000;
const HOURS: i64 = 24;

/// What the filter chips narrow the stream to, by the words in an event's type.
const KINDS: [(&str, &str, &[&str]); 5] = [
    ("all", "All", &[]),
    ("orders", "Orders", &["order"]),
    ("carts", "Carts and checkouts", &["cart", "checkout"]),
    ("products", "Products", &["product"]),
    ("customers", "Customers", &["customer", "guest"]),
];

/// `before` as text, so that a bad one gets this page's own answer rather than a JSON error.
#[derive(Deserialize)]
pub(super) struct EventsQuery {
    before: Option<String>,
    kind: Option<String>,
}

fn matches(kind: &str, event: &StoreEvent) -> bool {
    KINDS
        .iter()
        .find(|(key, _, _)| *key == kind)
        .is_none_or(|(_, _, words)| {
            words.is_empty() || words.iter().any(|w| event.event_type.contains(w))
        })
}

pub(super) async fn store_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = session(&req, &state).await? else {
        return Ok(to_login(&req));
    };
    let Some((store, membership)) = visible_store(&state, &session, &path).await? else {
        return Ok(not_found());
    };
    let id = store.integration_id;
    let before = match query.before.as_deref().filter(|b| !b.is_empty()) {
        None => None,
        Some(text) => match text.parse::<u64>() {
            Ok(before) => Some(before),
            Err(_) => {
                return Ok(message_page(
                    StatusCode::BAD_REQUEST,
                    "Bad link",
                    "bad",
                    "This page link is broken: its `before` is not an event number. Open the store from Integrations.",
                ));
            }
        },
    };
    let kind = query
        .kind
        .as_deref()
        .filter(|k| KINDS.iter().any(|(key, _, _)| key == k))
        .unwrap_or("all")
        .to_owned();
    let log = &*state.app.log;
    let page = store_events::page(log, id, before, PAGE).await?;
    let newest = store_events::page(log, id, None, 1).await?;
    let head = newest.events.first().map(|e| e.revision);
    let lifecycle = log
        .read_stream(
            &StreamId::Integration(id).to_string(),
            ReadFrom::End,
            Direction::Backwards,
            PAGE,
        )
        .await?;
    let recent = log
        .read_stream(
            &StreamId::Store(id).to_string(),
            ReadFrom::End,
            Direction::Backwards,
            CHART_EVENTS,
        )
        .await?;
    let (counts, rejections) = state.app.delivery_diagnostics(id).await?;
    let now = state.now();
    let base = format!("/settings/integrations/{id}?kind={kind}");
    // The newer page starts PAGE events after this one; past the head it is the newest page.
    let newer = before.map(|b| match head {
        Some(head) if b + (PAGE as u64) <= head => format!("{base}&before={}", b + PAGE as u64),
        _ => base.clone(),
    });
    let older = page.next_before.map(|b| format!("{base}&before={b}"));
    let shown: Vec<&StoreEvent> = page.events.iter().filter(|e| matches(&kind, e)).collect();
    let card = store_card(&state, &store, &membership, &session, now).await?;
    let body = html! {
        p { a href="/settings/integrations" { "← Integrations" } }
        (card)
        div.card data-testid="diagnostics" {
            h2 { "Deliveries" }
            p.muted { (counts.accepted) " accepted · " (counts.duplicate) " duplicates · " (counts.rejected) " rejected" }
            @if rejections.is_empty() {
                p.muted { "No rejected deliveries." }
            } @else {
                @for rejection in &rejections {
                    div.event-row data-testid="rejection" {
                        span { code { (rejection.code) } }
                        span { (rejection.message) @if let Some(path) = &rejection.path { " · at " code { (path) } } }
                        span.muted { (rejection.endpoint)
                            @if let Some(item) = &rejection.item { " · " (item) }
                            @if let Some(event_type) = &rejection.event_type { " · " (event_type) } }
                        span { (ago(Some(rejection.received_at), now)) }
                    }
                }
            }
        }
        div.card data-testid="store-events" {
            h2 { "Store events" span.muted { " · newest first" } }
            (chart(&recent, now))
            nav.chips aria-label="Filter events" {
                @for (key, label, _) in KINDS {
                    a href={ "/settings/integrations/" (id) "?kind=" (key) @if let Some(b) = before { "&before=" (b) } }
                        aria-current=[(key == kind).then_some("true")] { (label) }
                }
            }
            @if shown.is_empty() { p.muted { "No events here." } }
            @for event in &shown { (event_row(event, now)) }
            nav.pager aria-label="Pages" {
                @if let Some(newer) = &newer { a href=(newer) data-testid="newer" { "← Newer events" } } @else { span {} }
                @if let Some(older) = &older { a href=(older) data-testid="older" { "Older events →" } }
            }
        }
        div.card {
            h2 { "Connection and sync events" }
            @for event in &lifecycle { (raw_row(event, now)) }
        }
    };
    Ok(respond(
        StatusCode::OK,
        shell(&store.site_name, &session, body),
    ))
}

/// `ecommerce.order_placed` as "Order placed".
fn label(event_type: &str) -> String {
    let words = event_type
        .rsplit('.')
        .next()
        .unwrap_or(event_type)
        .replace('_', " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn event_row(event: &StoreEvent, now: OffsetDateTime) -> Markup {
    let summary = &event.summary;
    let what = summary
        .product
        .clone()
        .or_else(|| (!summary.items.is_empty()).then(|| summary.items.join(", ")));
    html! {
        div.event-row data-testid="event" {
            span { strong { (label(&event.event_type)) }
                @if let Some(order) = &summary.order { " #" (order) }
                @if let Some(status) = &summary.status { " " span.pill.cancelled { (status) } } }
            span {
                @if let Some(shopper) = &summary.shopper { a href=(subscriber_link(shopper)) { (shopper) } }
                @if let Some(what) = &what { div.muted { (what) } }
                @if let Some(reason) = &summary.reason { div.muted { "Reason: " (reason) } }
                @if let Some(id) = summary.deleted { div.muted { "Removed #" (id) } }
            }
            span.num { @if summary.amount.is_some() { (money(summary.amount.as_deref(), summary.currency.as_deref())) } }
            span { (ago(event.occurred_at.or(Some(event.recorded_at)), now)) }
            details { summary { "Raw event #" (event.revision) } pre { (event.data.get()) } }
        }
    }
}

fn raw_row(event: &RecordedEvent, now: OffsetDateTime) -> Markup {
    html! {
        div.event-row data-testid="lifecycle-event" {
            span { strong { (label(&event.event_type)) } }
            span {} span {}
            span { (ago(Some(event.recorded_at), now)) }
            details { summary { "Raw event #" (event.revision) } pre { (event.data.get()) } }
        }
    }
}

/// Events per hour over the last day, as bars; the newest hour on the right.
fn chart(recent: &[RecordedEvent], now: OffsetDateTime) -> Markup {
    let mut hours = [0u32; HOURS as usize];
    for event in recent {
        // When it happened in the store (what the merchant counts), else when it arrived.
        let at = serde_json::from_str::<EventMetadata>(event.metadata.get())
            .map_or(event.recorded_at, |m| m.occurred_at);
        let age = (now - at).whole_hours();
        if (0..HOURS).contains(&age) {
            hours[(HOURS - 1 - age) as usize] += 1;
        }
    }
    let max = hours.iter().copied().max().unwrap_or(0).max(1);
    let total: u32 = hours.iter().sum();
    let (width, height) = (480, 64);
    let bar = width / HOURS as u32;
    html! {
        figure style="margin:0 0 16px" {
            svg.chart viewBox={ "0 0 " (width) " " (height + 14) } width=(width) height=(height + 14) role="img"
                aria-label={ (total) " events in the last 24 hours" } data-testid="chart" {
                @for (i, count) in hours.iter().enumerate() {
                    @let h = if *count == 0 { 0 } else { (count * height / max).max(2) };
                    rect x=(i as u32 * bar + 1) y=(height - h) width=(bar - 2) height=(h) {
                        title { (count) " events, " (HOURS - i as i64) " h ago" }
                    }
                }
                text x="0" y=(height + 12) { "24 h ago" }
                text x=(width) y=(height + 12) text-anchor="end" { "now" }
            }
            figcaption.muted { (total) " events in the last 24 hours" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn event_types_read_as_words() {
        assert_eq!(label("ecommerce.order_placed"), "Order placed");
        assert_eq!(label("SyncRequested"), "SyncRequested");
    }
}
