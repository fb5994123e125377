//! `/subscribers` (search by email, filter by tag) and `/subscribers/{email}`: a shopper's tags
//! and why they hold them, their current cart, and their orders with totals and refunds.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use time::OffsetDateTime;
use woo_domain::CompanyId;
use woo_domain::values::Email;
use woo_projections::connection_health;
use woo_projections::orders::{self, OrderRow};
use woo_projections::subscriber_tags::{self, IN_CART, IN_CHECKOUT, Tags};
use woo_projections::subscribers::{self, Subscriber};

use crate::accounts::Membership;
use crate::auth::session;
use crate::html::{message_page, notice, page, respond};
use crate::{ApiError, AppState};

use super::to_login;
use super::view::{ago, memberships, money, subscriber_link};

/// Subscribers one company lists at a time.
const LIST: usize = 100;
/// Orders of a store looked through for one shopper's.
const ORDERS_SCANNED: usize = 1000;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    email: Option<String>,
    tag: Option<String>,
}

type Listed = (Subscriber, Option<Tags>);

fn list(
    conn: &rusqlite::Connection,
    company: CompanyId,
    prefix: &str,
    tag: Option<&str>,
) -> rusqlite::Result<Vec<Listed>> {
    let emails = match tag {
        Some(tag) => subscriber_tags::emails_with_tag(conn, company, tag, "", LIST * 4)?
            .into_iter()
            .filter(|e| e.starts_with(prefix))
            .take(LIST)
            .collect(),
        None => subscribers::emails(conn, company, prefix, "", LIST)?,
    };
    let mut found = Vec::new();
    for email in emails {
        if let Some(subscriber) = subscribers::get(conn, company, &email)? {
            found.push((subscriber, subscriber_tags::get(conn, company, &email)?));
        }
    }
    Ok(found)
}

fn name(subscriber: &Subscriber) -> Option<String> {
    let name = [&subscriber.first_name, &subscriber.last_name]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    Some(name).filter(|n| !n.trim().is_empty())
}

fn tag_pills(tags: Option<&Tags>) -> Markup {
    html! {
        @if tags.is_none_or(|t| t.tags.is_empty()) { span.muted { "—" } }
        @if let Some(tags) = tags {
            @if tags.tags.contains(&IN_CHECKOUT) { span.pill.checkout { "In checkout" } " " }
            @if tags.tags.contains(&IN_CART) { span.pill.cart { "In cart" } }
        }
    }
}

fn spent(subscriber: &Subscriber) -> String {
    if subscriber.total_spent.is_empty() {
        return "—".to_owned();
    }
    subscriber
        .total_spent
        .iter()
        .map(|(currency, total)| format!("{total} {currency}"))
        .collect::<Vec<_>>()
        .join(" · ")
}

pub(super) async fn list_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = session(&req, &state).await? else {
        return Ok(to_login(&req));
    };
    let prefix = query
        .email
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    let tag = query
        .tag
        .as_deref()
        .filter(|t| [IN_CART, IN_CHECKOUT].contains(t))
        .map(str::to_owned);
    let mut sections = Vec::new();
    for membership in memberships(&state, &session).await? {
        let (company, prefix, tag) = (membership.company_id, prefix.clone(), tag.clone());
        let found = state
            .read_model(move |conn| list(conn, company, &prefix, tag.as_deref()))
            .await?;
        sections.push((membership, found));
    }
    let now = state.now();
    let body = html! {
        h1 { "Subscribers" }
        form.filters method="get" action="/subscribers" role="search" {
            label { "Email starts with" input type="search" name="email" value=(prefix) autocomplete="off"; }
            label { "Tag"
                select name="tag" {
                    option value="" selected[tag.is_none()] { "Any" }
                    option value=(IN_CART) selected[tag.as_deref() == Some(IN_CART)] { "In cart" }
                    option value=(IN_CHECKOUT) selected[tag.as_deref() == Some(IN_CHECKOUT)] { "In checkout" }
                }
            }
            button.secondary type="submit" { "Search" }
        }
        @for (membership, found) in &sections {
            div.card {
                h2 { (membership.company_name) span.muted { " · " (found.len()) " shown" } }
                @if found.is_empty() {
                    p.muted { "No subscriber matches." }
                } @else {
                    div.table-wrap { table.stack {
                        thead { tr { th { "Subscriber" } th { "Tags" } th.num { "Orders" } th.num { "Spent" } th { "Last order" } } }
                        tbody {
                            @for (subscriber, tags) in found {
                                tr data-testid="subscriber" {
                                    td data-label="Subscriber" {
                                        a href=(subscriber_link(&subscriber.email)) { (subscriber.email) }
                                        @if let Some(name) = name(subscriber) { div.muted { (name) } }
                                    }
                                    td data-label="Tags" { (tag_pills(tags.as_ref())) }
                                    td.num data-label="Orders" { (subscriber.orders_count) }
                                    td.num data-label="Spent" { (spent(subscriber)) }
                                    td data-label="Last order" { (ago(subscriber.last_order_at, now)) }
                                }
                            }
                        }
                    } }
                }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(
            "Subscribers",
            Some((&session.user.email, &session.csrf)),
            true,
            body,
        ),
    ))
}

/// What one company knows of a shopper.
struct Known {
    membership: Membership,
    subscriber: Subscriber,
    tags: Option<Tags>,
    orders: Vec<OrderRow>,
}

/// A subscriber, their tags and cart, and their orders, newest first.
type Record = (Subscriber, Option<Tags>, Vec<OrderRow>);

fn known(
    conn: &rusqlite::Connection,
    company: CompanyId,
    email: &str,
) -> rusqlite::Result<Option<Record>> {
    let Some(subscriber) = subscribers::get(conn, company, email)? else {
        return Ok(None);
    };
    let mut found = Vec::new();
    for store in connection_health::for_company(conn, company)? {
        found.extend(
            orders::for_store(conn, store.integration_id, ORDERS_SCANNED)?
                .into_iter()
                .filter(|o| o.email.as_deref() == Some(email)),
        );
    }
    found.sort_by_key(|o| std::cmp::Reverse(o.date_created));
    Ok(Some((
        subscriber,
        subscriber_tags::get(conn, company, email)?,
        found,
    )))
}

pub(super) async fn detail_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = session(&req, &state).await? else {
        return Ok(to_login(&req));
    };
    let not_found = || {
        message_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "bad",
            "No such subscriber in your companies.",
        )
    };
    let Ok(email) = Email::parse(&path) else {
        return Ok(not_found());
    };
    let mut found = Vec::new();
    for membership in memberships(&state, &session).await? {
        let (company, email) = (membership.company_id, email.to_string());
        if let Some((subscriber, tags, orders)) = state
            .read_model(move |conn| known(conn, company, &email))
            .await?
        {
            found.push(Known {
                membership,
                subscriber,
                tags,
                orders,
            });
        }
    }
    if found.is_empty() {
        return Ok(not_found());
    }
    let now = state.now();
    let body = html! {
        p { a href="/subscribers" { "← Subscribers" } }
        h1 { (email.as_str()) }
        @for known in &found { (known_card(known, now)) }
    };
    Ok(respond(
        StatusCode::OK,
        page(
            email.as_str(),
            Some((&session.user.email, &session.csrf)),
            true,
            body,
        ),
    ))
}

fn known_card(known: &Known, now: OffsetDateTime) -> Markup {
    let subscriber = &known.subscriber;
    let cart = known.tags.as_ref().and_then(|t| t.cart.as_ref());
    html! {
        div.card data-testid="subscriber-detail" {
            h2 { (known.membership.company_name) }
            dl.facts {
                @if let Some(name) = name(subscriber) { dt { "Name" } dd { (name) } }
                dt { "Kind" } dd { (subscriber.kind) @if let Some(id) = subscriber.customer_id { " · customer #" (id) } }
                dt { "Orders" } dd { (subscriber.orders_count) " placed · " (spent(subscriber)) " spent" }
                dt { "Tags" } dd data-testid="tags" {
                    @match known.tags.as_ref().filter(|t| !t.tags.is_empty()) {
                        Some(tags) => {
                            (tag_pills(Some(tags)))
                            @if let Some(cart) = cart { " " span.muted { "since the cart changed " (ago(Some(cart.updated_at), now)) } }
                        }
                        None => { span.muted { "Not in a cart or checkout" } }
                    }
                }
            }
        }
        div.card {
            h2 { "Current cart" }
            @match cart {
                Some(cart) if !cart.items.is_empty() => {
                    div.table-wrap { table {
                        thead { tr { th { "Product" } th.num { "Quantity" } } }
                        tbody { @for item in &cart.items { tr { td { (item.name) } td.num { (item.quantity) } } } }
                    } }
                    p { "Value " strong { (money(cart.value.as_deref(), cart.currency.as_deref())) } " · updated " (ago(Some(cart.updated_at), now))
                        @if let Some(url) = &cart.checkout_url { " · " a href=(url) rel="noopener noreferrer" { "Checkout link" } } }
                }
                _ => { p.muted { "No cart." } }
            }
        }
        div.card {
            h2 { "Orders" }
            @if known.orders.is_empty() { p.muted { "No orders." } } @else {
                div.table-wrap { table.stack {
                    thead { tr { th { "Order" } th { "Status" } th.num { "Items" } th.num { "Total" } th.num { "Refunded" } th { "Placed" } } }
                    tbody {
                        @for order in &known.orders {
                            tr data-testid="order" {
                                td data-label="Order" { "#" (order.number) }
                                td data-label="Status" { (order.status) }
                                td.num data-label="Items" { (order.items_count) }
                                td.num data-label="Total" { (order.total) " " (order.currency) }
                                td.num data-label="Refunded" {
                                    @if order.refunded.trim_start_matches(['0', '.']).is_empty() { span.muted { "—" } }
                                    @else { (order.refunded) " " (order.currency) }
                                }
                                td data-label="Placed" { (ago(order.date_created, now)) }
                            }
                        }
                    }
                } }
            }
        }
        @if known.tags.is_none() && known.orders.is_empty() { (notice("warn", "Nothing from a cart, checkout or order yet.")) }
    }
}
