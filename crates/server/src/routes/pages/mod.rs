//! The browser pages: sign-in, the first-run account, and the store authorize page
//! (`/setup/woocommerce`). Forms carry a CSRF token (the session's, or a cookie's before sign-in)
//! and every redirect target is a local path.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::Markup;
use serde::Deserialize;

use crate::accounts::Session;
use crate::auth::{CookieName, secure_site, session};
use crate::html::page;
use crate::secrets::{self};
use crate::{ApiError, AppState};

mod authorize;
mod bootstrap;
mod carts;
mod login;
mod subscribers;
pub(crate) mod view;
mod why;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/carts", web::get().to(carts::carts_page))
        .route("/subscribers", web::get().to(subscribers::list_page))
        .route(
            "/subscribers/{email}",
            web::get().to(subscribers::detail_page),
        )
        .route("/login", web::get().to(login::login_page))
        .route("/login", web::post().to(login::login))
        .route("/logout", web::post().to(login::logout))
        .route("/setup/bootstrap", web::get().to(bootstrap::bootstrap_page))
        .route("/setup/bootstrap", web::post().to(bootstrap::bootstrap))
        .route(
            "/setup/woocommerce",
            web::get().to(authorize::authorize_page),
        )
        .route(
            "/setup/woocommerce/code",
            web::post().to(authorize::enter_code),
        )
        .route(
            "/setup/woocommerce/{request_id}/approve",
            web::post().to(authorize::approve),
        )
        .route(
            "/setup/woocommerce/{request_id}/deny",
            web::post().to(authorize::deny),
        );
}

/// Form bodies: small, and a malformed one is a JSON 400 like every other bad input.
/// Query strings of pages: a malformed one is a JSON 400 too.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("the query string could not be read: {error}"),
        )
        .into()
    })
}

pub fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(16 * 1024)
        .error_handler(|error, _| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_form",
                format!("the form could not be read: {error}"),
            )
            .into()
        })
}

/// `next` if it is a path on this site, `/` otherwise: never a redirect to another host.
pub(super) fn local_path(next: Option<&str>) -> String {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.contains('\\')
                && !next.contains("://")
                // Browsers drop tabs and newlines from URLs: `/\t/evil.example` would become
                // `//evil.example`. Nothing but visible ASCII goes into a Location header.
                && next.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            next.to_owned()
        }
        _ => "/".to_owned(),
    }
}

pub(crate) fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

pub(crate) fn to_login(req: &HttpRequest) -> HttpResponse {
    let here = match req.query_string() {
        "" => req.path().to_owned(),
        query => format!("{}?{query}", req.path()),
    };
    redirect(&format!("/login?next={}", percent_encode(&here)))
}

pub(super) fn cookie(
    state: &AppState,
    name: CookieName,
    value: String,
    max_age: CookieDuration,
) -> Cookie<'static> {
    Cookie::build(name.on(state), value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure_site(state))
        .max_age(max_age)
        .finish()
}

/// The cookie that removes `name`, with the attributes a `__Host-` cookie needs to be replaced.
pub(super) fn removal(state: &AppState, name: CookieName) -> Cookie<'static> {
    Cookie::build(name.on(state), "")
        .path("/")
        .secure(secure_site(state))
        .finish()
}

pub(super) fn shell(title: &str, session: Option<&Session>, body: Markup) -> Markup {
    page(
        title,
        session.map(|s| (s.user.email.as_str(), s.csrf.as_str())),
        false,
        body,
    )
}

async fn home(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(match session(&req, &state).await? {
        Some(_) => redirect("/settings/integrations"),
        None => to_login(&req),
    })
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    pub(super) csrf: String,
}

/// The session of a form post, if its CSRF token matches.
pub(crate) async fn form_session(
    req: &HttpRequest,
    state: &AppState,
    csrf: &str,
) -> Result<Option<Session>, ApiError> {
    Ok(session(req, state)
        .await?
        .filter(|s| secrets::same(&s.csrf, csrf)))
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert_eq!(
            local_path(Some("/setup/woocommerce?request=1")),
            "/setup/woocommerce?request=1"
        );
        for hostile in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "evil",
            "/x?u=https://e",
            "/\t/evil.example",
            "/a\r\nSet-Cookie: x=y",
            "/caf\u{e9}",
        ] {
            assert_eq!(local_path(Some(hostile)), "/", "{hostile}");
        }
        assert_eq!(local_path(None), "/");
    }
}
