//! `/carts`: who sits in a cart or a checkout right now, per company, with what and for how much,
//! since when, and the link that brings them back to their checkout; the view a merchant opens
//! to see abandoned carts. Grouped per store, sortable by value and by age.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use time::OffsetDateTime;
use woo_domain::CompanyId;
use woo_projections::subscriber_tags::{self, CurrentCart, IN_CART, IN_CHECKOUT};
use woo_projections::{connection_health, subscribers};

use crate::accounts::Session;
use crate::auth::session;
use crate::html::{notice, page, respond};
use crate::{ApiError, AppState};

use super::to_login;
use super::view::{ago, memberships, money, subscriber_link};

/// The most shoppers one company shows; a store with more has bigger problems than this page.
const MAX_SHOPPERS: usize = 500;

#[derive(Deserialize)]
pub(super) struct CartsQuery {
    sort: Option<String>,
}

/// One shopper in a flow.
struct Shopper {
    email: String,
    name: Option<String>,
    in_checkout: bool,
    cart: Option<CurrentCart>,
    /// When the shopper entered the flow they are in: the checkout's start, or the cart's first
    /// item (an anonymous cart's, when it joined them later).
    since: Option<OffsetDateTime>,
}

impl Shopper {
    fn value(&self) -> f64 {
        self.cart
            .as_ref()
            .and_then(|c| c.value.as_deref())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    fn since(&self) -> Option<OffsetDateTime> {
        self.since.or(self.cart.as_ref().map(|c| c.updated_at))
    }
}

/// The shoppers of one store; `store` is `None` for carts whose store is no longer listed.
struct StoreCarts {
    store: Option<(String, String)>,
    shoppers: Vec<Shopper>,
}

/// A company's shoppers in a flow, per store in the order the stores are listed, sorted by `sort`.
fn per_store(
    conn: &rusqlite::Connection,
    company: CompanyId,
    sort: &str,
) -> rusqlite::Result<Vec<StoreCarts>> {
    let mut found = shoppers(conn, company)?;
    if sort == "value" {
        found.sort_by(|a, b| b.value().total_cmp(&a.value()));
    } else {
        found.sort_by_key(|s| s.since());
    }
    let mut groups: Vec<StoreCarts> = connection_health::for_company(conn, company)?
        .into_iter()
        .map(|store| StoreCarts {
            store: Some((store.integration_id.to_string(), store.site_name)),
            shoppers: Vec::new(),
        })
        .collect();
    let mut unlisted = Vec::new();
    for shopper in found {
        let store = shopper
            .cart
            .as_ref()
            .and_then(|c| c.integration_id.as_deref());
        match groups
            .iter_mut()
            .find(|g| g.store.as_ref().map(|(id, _)| id.as_str()) == store)
        {
            Some(group) => group.shoppers.push(shopper),
            None => unlisted.push(shopper),
        }
    }
    groups.retain(|g| !g.shoppers.is_empty());
    if !unlisted.is_empty() {
        groups.push(StoreCarts {
            store: None,
            shoppers: unlisted,
        });
    }
    Ok(groups)
}

fn shoppers(conn: &rusqlite::Connection, company: CompanyId) -> rusqlite::Result<Vec<Shopper>> {
    let mut emails =
        subscriber_tags::emails_with_tag(conn, company, IN_CHECKOUT, "", MAX_SHOPPERS)?;
    emails.extend(subscriber_tags::emails_with_tag(
        conn,
        company,
        IN_CART,
        "",
        MAX_SHOPPERS,
    )?);
    emails.sort();
    emails.dedup();
    let mut found = Vec::with_capacity(emails.len());
    for email in emails {
        let Some(tags) = subscriber_tags::get(conn, company, &email)? else {
            continue;
        };
        let name = subscribers::get(conn, company, &email)?.and_then(|s| {
            let name = [s.first_name, s.last_name]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            Some(name).filter(|n| !n.trim().is_empty())
        });
        let in_checkout = tags.tags.contains(&IN_CHECKOUT);
        let since = tags
            .since(if in_checkout { IN_CHECKOUT } else { IN_CART })
            .map(|w| w.at);
        found.push(Shopper {
            in_checkout,
            since,
            cart: tags.cart,
            name,
            email,
        });
    }
    Ok(found)
}

fn store_name(group: &StoreCarts) -> &str {
    match &group.store {
        Some((_, name)) if !name.trim().is_empty() => name,
        Some(_) => "Unnamed store",
        None => "A store no longer connected",
    }
}

fn sort_link(label: &str, key: &str, current: &str) -> Markup {
    html! {
        a href={ "/carts?sort=" (key) } aria-current=[(key == current).then_some("true")] { (label) }
    }
}

fn shopper_row(shopper: &Shopper, now: OffsetDateTime) -> Markup {
    let cart = shopper.cart.as_ref();
    html! {
        tr data-testid="cart" {
            td data-label="Shopper" {
                a href=(subscriber_link(&shopper.email)) { (shopper.name.as_deref().unwrap_or(&shopper.email)) }
                @if shopper.name.is_some() { div.muted { (shopper.email) } }
            }
            td data-label="Stage" {
                @if shopper.in_checkout { span.pill.checkout { "In checkout" } } @else { span.pill.cart { "In cart" } }
            }
            td data-label="Items" {
                @match cart {
                    Some(cart) if !cart.items.is_empty() => {
                        @for item in &cart.items { div { (item.quantity) " × " (item.name) } }
                    }
                    _ => { span.muted { "—" } }
                }
            }
            td.num data-label="Value" data-testid="cart-value" {
                (money(cart.and_then(|c| c.value.as_deref()), cart.and_then(|c| c.currency.as_deref())))
            }
            td data-label="Since" { (ago(shopper.since(), now)) }
            td data-label="Recovery" {
                @match cart.and_then(|c| c.checkout_url.as_deref()) {
                    Some(url) => { a href=(url) rel="noopener noreferrer" { "Checkout link" } }
                    None => { span.muted { "—" } }
                }
            }
        }
    }
}

pub(super) async fn carts_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<CartsQuery>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = session(&req, &state).await? else {
        return Ok(to_login(&req));
    };
    let sort = match query.sort.as_deref() {
        Some("value") => "value",
        _ => "age",
    };
    let mut sections = Vec::new();
    for membership in memberships(&state, &session).await? {
        let company = membership.company_id;
        let found = state
            .read_model(move |conn| per_store(conn, company, sort))
            .await?;
        sections.push((membership, found));
    }
    let now = state.now();
    Ok(respond(
        StatusCode::OK,
        carts_markup(&session, &sections, sort, now),
    ))
}

fn carts_markup(
    session: &Session,
    sections: &[(crate::accounts::Membership, Vec<StoreCarts>)],
    sort: &str,
    now: OffsetDateTime,
) -> Markup {
    let body = html! {
        h1 { "Carts" }
        p.muted { "Shoppers with something in their cart or sitting in checkout right now. The oldest are the ones to win back." }
        div.chips aria-label="Sort" {
            (sort_link("Oldest first", "age", sort))
            (sort_link("Highest value first", "value", sort))
        }
        @for (membership, stores) in sections {
            div.card data-testid="company-carts" {
                h2 { (membership.company_name) span.muted { " · " (stores.iter().map(|s| s.shoppers.len()).sum::<usize>()) " shoppers" } }
                @if stores.is_empty() {
                    p.muted { "Nobody is in a cart or in checkout right now." }
                }
                @for group in stores {
                    section data-testid="store-carts" aria-label={ "Carts in " (store_name(group)) } {
                        h3 {
                            @match &group.store {
                                Some((id, _)) => { a href={ "/settings/integrations/" (id) } { (store_name(group)) } }
                                None => { (store_name(group)) }
                            }
                            span.muted { " · " (group.shoppers.len()) " shoppers" }
                        }
                        div.table-wrap {
                            table.stack {
                                thead { tr { th { "Shopper" } th { "Stage" } th { "Items" } th.num { "Value" } th { "Since" } th { "Recovery" } } }
                                tbody { @for shopper in &group.shoppers { (shopper_row(shopper, now)) } }
                            }
                        }
                    }
                }
            }
        }
        @if sections.is_empty() { (notice("warn", "You do not belong to any company yet.")) }
    };
    page(
        "Carts",
        Some((&session.user.email, &session.csrf)),
        true,
        body,
    )
}
