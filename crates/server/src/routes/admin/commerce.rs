//! What the stores of a company sent, as the admin API shows it: subscribers with their tags and
//! carts, the catalog, and each store's orders.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use woo_domain::CompanyId;
use woo_domain::values::Email;
use woo_projections::{catalog, orders, subscriber_tags, subscribers};

use crate::auth::AdminUser;
use crate::{ApiError, AppState};

use super::{membership, parse_id, visible_integration};

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;

#[derive(Deserialize)]
pub(super) struct SubscriberQuery {
    tag: Option<String>,
    email: Option<String>,
    cursor: Option<String>,
    /// `prev_cursor` of a page: answers the page before it.
    before: Option<String>,
    limit: Option<usize>,
}

fn page_size(limit: Option<usize>) -> usize {
    limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

/// One subscriber with their tags, current cart, and the events that set or cleared each tag. A value that cannot be shown fails the
/// answer (logged with its cause) rather than answering an empty subscriber.
fn subscriber_view(
    subscriber: &subscribers::Subscriber,
    tags: Option<subscriber_tags::Tags>,
) -> Result<serde_json::Value, ApiError> {
    let shown = |e: serde_json::Error| ApiError::internal(&e);
    let mut value = serde_json::to_value(subscriber).map_err(shown)?;
    let (tags, cart, history) = tags
        .map(|t| (t.tags, t.cart, t.history))
        .unwrap_or_default();
    value["tags"] = serde_json::to_value(tags).map_err(shown)?;
    value["cart"] = serde_json::to_value(cart).map_err(shown)?;
    value["tag_history"] = serde_json::to_value(history).map_err(shown)?;
    Ok(value)
}

/// A company's subscribers in email order: all of them, narrowed to those holding `tag`
/// (`ecommerce.in_cart`, `ecommerce.in_checkout`) and to those whose email starts with `email`.
/// `next_cursor` pages on, `prev_cursor` (as `before`) back.
pub(super) async fn list_subscribers(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<String>,
    query: web::Query<SubscriberQuery>,
) -> Result<HttpResponse, ApiError> {
    let company: CompanyId = parse_id(&path, "company")?;
    membership(&state, &user, company).await?;
    let query = query.into_inner();
    let limit = page_size(query.limit);
    let after = query.cursor.unwrap_or_default();
    if let Some(tag) = query.tag.as_deref()
        && ![subscriber_tags::IN_CART, subscriber_tags::IN_CHECKOUT].contains(&tag)
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!(
                "tag is {} or {}",
                subscriber_tags::IN_CART,
                subscriber_tags::IN_CHECKOUT
            ),
        )
        .at("tag"));
    }
    let filter = subscribers::Filter {
        prefix: query
            .email
            .map(|e| e.trim().to_lowercase())
            .unwrap_or_default(),
        tag: query.tag,
    };
    let keyset = match (after.as_str(), query.before.filter(|b| !b.is_empty())) {
        ("", Some(before)) => subscribers::Keyset::Before(before),
        ("", None) => subscribers::Keyset::First,
        _ => subscribers::Keyset::After(after),
    };
    let (page, next_cursor, prev_cursor) = state
        .read_model(move |conn| {
            let listing = subscribers::page(conn, company, &filter, &keyset, limit)?;
            let mut page = Vec::new();
            for email in &listing.emails {
                if let Some(subscriber) = subscribers::get(conn, company, email)? {
                    page.push((subscriber, subscriber_tags::get(conn, company, email)?));
                }
            }
            Ok((page, listing.after, listing.before))
        })
        .await?;
    let page = page
        .into_iter()
        .map(|(subscriber, tags)| subscriber_view(&subscriber, tags))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(json!({
        "subscribers": page,
        "next_cursor": next_cursor,
        "prev_cursor": prev_cursor,
    })))
}

pub(super) async fn get_subscriber(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (company, email) = path.into_inner();
    let company: CompanyId = parse_id(&company, "company")?;
    membership(&state, &user, company).await?;
    let email = Email::parse(&email).map_err(|_| ApiError::not_found("no such subscriber"))?;
    let found = state
        .read_model(move |conn| {
            let subscriber = subscribers::get(conn, company, email.as_str())?;
            let tags = subscriber_tags::get(conn, company, email.as_str())?;
            Ok(subscriber.map(|s| (s, tags)))
        })
        .await?
        .ok_or_else(|| ApiError::not_found("no such subscriber"))?;
    Ok(HttpResponse::Ok().json(subscriber_view(&found.0, found.1)?))
}

#[derive(Deserialize)]
pub(super) struct CatalogQuery {
    /// `INTEGRATION_ID:PRODUCT_ID` of the last item of the previous page.
    cursor: Option<String>,
    limit: Option<usize>,
}

pub(super) async fn company_catalog(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<String>,
    query: web::Query<CatalogQuery>,
) -> Result<HttpResponse, ApiError> {
    let company: CompanyId = parse_id(&path, "company")?;
    membership(&state, &user, company).await?;
    let limit = page_size(query.limit);
    let after = match query.cursor.as_deref() {
        None | Some("") => None,
        Some(cursor) => {
            let parsed = cursor
                .split_once(':')
                .and_then(|(store, product)| Some((store.to_owned(), product.parse().ok()?)));
            Some(parsed.ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    "cursor is INTEGRATION_ID:PRODUCT_ID",
                )
                .at("cursor")
            })?)
        }
    };
    let mut items = state
        .read_model(move |conn| catalog::for_company(conn, company, after, limit + 1))
        .await?;
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items
            .last()
            .map(|i| format!("{}:{}", i.integration_id, i.product_id))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(json!({ "products": items, "next_cursor": next_cursor })))
}

#[derive(Deserialize)]
pub(super) struct OrdersQuery {
    limit: Option<usize>,
}

pub(super) async fn integration_orders(
    state: web::Data<AppState>,
    AdminUser(user): AdminUser,
    path: web::Path<String>,
    query: web::Query<OrdersQuery>,
) -> Result<HttpResponse, ApiError> {
    let (store, _) = visible_integration(&state, &user, &path).await?;
    let limit = page_size(query.limit);
    let integration = store.integration_id;
    let rows = state
        .read_model(move |conn| orders::for_store(conn, integration, limit))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "orders": rows })))
}
