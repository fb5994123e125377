//! `/subscribers` (search by email, filter by tag) and `/subscribers/{email}`: a shopper's tags
//! and why they hold them, their current cart, and their orders with totals and refunds.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use time::OffsetDateTime;
use woo_domain::CompanyId;
use woo_domain::values::Email;
use woo_projections::orders::{self, EmailCursor, EmailOrder};
use woo_projections::subscriber_tags::{self, IN_CART, IN_CHECKOUT, Tags};
use woo_projections::subscribers::{self, Keyset, Listing, Subscriber};

use crate::accounts::Membership;
use crate::auth::session;
use crate::html::{message_page, notice, page, respond};
use crate::{ApiError, AppState};

use super::to_login;
use super::view::{ago, memberships, money, subscriber_link};
use super::why::why;

/// Subscribers one company lists at a time.
const LIST: usize = 50;
/// Orders of one shopper a page shows at a time.
const ORDERS_PAGE: usize = 25;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    email: Option<String>,
    tag: Option<String>,
    /// The last email of the page before: this page holds the emails after it.
    after: Option<String>,
    /// The first email of the page after: this page holds the emails before it.
    before: Option<String>,
}

type Listed = (Subscriber, Option<Tags>);

/// A page of a company's subscribers with their tags, and the cursors around it.
fn list(
    conn: &rusqlite::Connection,
    company: CompanyId,
    filter: &subscribers::Filter,
    keyset: &Keyset,
) -> rusqlite::Result<(Vec<Listed>, Listing)> {
    let listing = subscribers::page(conn, company, filter, keyset, LIST)?;
    let mut found = Vec::new();
    for email in &listing.emails {
        if let Some(subscriber) = subscribers::get(conn, company, email)? {
            found.push((subscriber, subscriber_tags::get(conn, company, email)?));
        }
    }
    Ok((found, listing))
}

/// `/subscribers` with the search kept and the page moved to `cursor`.
fn list_link(filter: &subscribers::Filter, cursor: (&str, &str)) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if !filter.prefix.is_empty() {
        query.append_pair("email", &filter.prefix);
    }
    if let Some(tag) = &filter.tag {
        query.append_pair("tag", tag);
    }
    query.append_pair(cursor.0, cursor.1);
    format!("/subscribers?{}", query.finish())
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
    let filter = subscribers::Filter {
        prefix: query
            .email
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_lowercase(),
        tag: query
            .tag
            .as_deref()
            .filter(|t| [IN_CART, IN_CHECKOUT].contains(t))
            .map(str::to_owned),
    };
    let keyset = match (query.after.as_deref(), query.before.as_deref()) {
        (Some(after), _) if !after.is_empty() => Keyset::After(after.to_owned()),
        (_, Some(before)) if !before.is_empty() => Keyset::Before(before.to_owned()),
        _ => Keyset::First,
    };
    let mut sections = Vec::new();
    for membership in memberships(&state, &session).await? {
        let (company, filter, keyset) = (membership.company_id, filter.clone(), keyset.clone());
        let found = state
            .read_model(move |conn| list(conn, company, &filter, &keyset))
            .await?;
        sections.push((membership, found));
    }
    let (prefix, tag) = (&filter.prefix, &filter.tag);
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
        @for (membership, (found, listing)) in &sections {
            div.card data-testid="company-subscribers" {
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
                @if listing.before.is_some() || listing.after.is_some() {
                    nav.pager aria-label={ "Pages of " (membership.company_name) "'s subscribers" } {
                        @match &listing.before {
                            Some(first) => { a href=(list_link(&filter, ("before", first))) rel="prev" { "← Previous" } }
                            None => { span {} }
                        }
                        @if let Some(last) = &listing.after {
                            a href=(list_link(&filter, ("after", last))) rel="next" { "Next →" }
                        }
                    }
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
    /// A page of their orders, newest first, and whether older ones follow.
    orders: Vec<EmailOrder>,
    more: bool,
}

/// A subscriber, their tags and cart, a page of their orders, and whether more follow.
type Record = (Subscriber, Option<Tags>, Vec<EmailOrder>, bool);

#[derive(Deserialize)]
pub(super) struct DetailQuery {
    /// The cursor of the last order shown: the page shows the orders before it.
    orders_after: Option<String>,
}

fn known(
    conn: &rusqlite::Connection,
    company: CompanyId,
    email: &str,
    after: Option<&EmailCursor>,
) -> rusqlite::Result<Option<Record>> {
    let Some(subscriber) = subscribers::get(conn, company, email)? else {
        return Ok(None);
    };
    let mut found = orders::for_email(conn, company, email, after, ORDERS_PAGE + 1)?;
    let more = found.len() > ORDERS_PAGE;
    found.truncate(ORDERS_PAGE);
    Ok(Some((
        subscriber,
        subscriber_tags::get(conn, company, email)?,
        found,
        more,
    )))
}

pub(super) async fn detail_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<DetailQuery>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = session(&req, &state).await? else {
        return Ok(to_login(&req));
    };
    let after = match query.orders_after.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(cursor) => match EmailCursor::parse(cursor) {
            Some(cursor) => Some(cursor),
            None => {
                return Ok(message_page(
                    StatusCode::BAD_REQUEST,
                    "Bad page link",
                    "bad",
                    "This link to older orders is not one this page made. Open the subscriber again.",
                ));
            }
        },
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
        let (company, email, after) = (membership.company_id, email.to_string(), after.clone());
        if let Some((subscriber, tags, orders, more)) = state
            .read_model(move |conn| known(conn, company, &email, after.as_ref()))
            .await?
        {
            found.push(Known {
                membership,
                subscriber,
                tags,
                orders,
                more,
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
        @for known in &found { (known_card(known, &email, after.is_some(), now)) }
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

fn known_card(known: &Known, email: &Email, paged: bool, now: OffsetDateTime) -> Markup {
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
                        Some(tags) => { (tag_pills(Some(tags))) }
                        None => { span.muted { "Not in a cart or checkout" } }
                    }
                }
            }
            @if let Some(tags) = known.tags.as_ref().filter(|t| !t.history.is_empty()) {
                h3 { "Why" }
                @for tag in [IN_CHECKOUT, IN_CART] { (why(tag, tags, now)) }
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
                        @for EmailOrder { order, .. } in &known.orders {
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
            @if paged || known.more {
                nav.pager aria-label="Orders pages" {
                    @if paged { a href=(subscriber_link(email.as_str())) { "← Newest orders" } } @else { span {} }
                    @if let Some(last) = known.orders.last().filter(|_| known.more) {
                        a href={ (subscriber_link(email.as_str())) "?orders_after=" (last.cursor()) } { "Older orders →" }
                    }
                }
            }
        }
        @if known.tags.is_none() && known.orders.is_empty() { (notice("warn", "Nothing from a cart, checkout or order yet.")) }
    }
}
