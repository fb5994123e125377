//! The browser pages: sign-in, the first-run account, and the store authorize page
//! (`/setup/woocommerce`). Forms carry a CSRF token (the session's, or a cookie's before sign-in)
//! and every redirect target is a local path.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use woo_domain::pairing::Pairing;
use woo_domain::values::{Email, UserCode};
use woo_domain::{CompanyId, RequestId};
use woo_projections::pairings;

use crate::accounts::{Membership, SESSION_LIFETIME, Session};
use crate::app::{DecideError, SignInError};
use crate::auth::{SESSION_COOKIE, client_key, session};
use crate::html::{message_page, notice, page, respond};
use crate::secrets::{self, Secret};
use crate::{ApiError, AppState};

const LOGIN_CSRF_COOKIE: &str = "woo_login_csrf";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/login", web::get().to(login_page))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/setup/bootstrap", web::get().to(bootstrap_page))
        .route("/setup/bootstrap", web::post().to(bootstrap))
        .route("/setup/woocommerce", web::get().to(authorize_page))
        .route("/setup/woocommerce/code", web::post().to(enter_code))
        .route(
            "/setup/woocommerce/{request_id}/approve",
            web::post().to(approve),
        )
        .route("/setup/woocommerce/{request_id}/deny", web::post().to(deny));
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
fn local_path(next: Option<&str>) -> String {
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

pub(super) fn redirect(to: &str) -> HttpResponse {
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

pub(super) fn to_login(req: &HttpRequest) -> HttpResponse {
    let here = match req.query_string() {
        "" => req.path().to_owned(),
        query => format!("{}?{query}", req.path()),
    };
    redirect(&format!("/login?next={}", percent_encode(&here)))
}

fn cookie<'a>(
    state: &AppState,
    name: &'a str,
    value: String,
    max_age: CookieDuration,
) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.app.public_url.starts_with("https://"))
        .max_age(max_age)
        .finish()
}

fn shell(title: &str, session: Option<&Session>, body: Markup) -> Markup {
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
struct Next {
    next: Option<String>,
}

fn login_form(next: &str, csrf: &str, error: Option<&str>) -> Markup {
    shell(
        "Sign in",
        None,
        html! {
            div.card {
                h1 { "Sign in" }
                @if let Some(error) = error { (notice("bad", error)) }
                form.stack method="post" action="/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="next" value=(next);
                    label { "Email" input type="email" name="email" autocomplete="username" required autofocus; }
                    label { "Password" input type="password" name="password" autocomplete="current-password" required; }
                    div.actions { button.primary type="submit" { "Sign in" } }
                }
            }
        },
    )
}

async fn login_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<Next>,
) -> Result<HttpResponse, ApiError> {
    let next = local_path(query.next.as_deref());
    if session(&req, &state).await?.is_some() {
        return Ok(redirect(&next));
    }
    let csrf = Secret::generate("");
    let mut response = respond(StatusCode::OK, login_form(&next, csrf.expose(), None));
    response
        .add_cookie(&cookie(
            &state,
            LOGIN_CSRF_COOKIE,
            csrf.expose().to_owned(),
            CookieDuration::hours(1),
        ))
        .map_err(|e| ApiError::internal(&e))?;
    Ok(response)
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ApiError> {
    let next = local_path(form.next.as_deref());
    let expected = req
        .cookie(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if expected.is_empty() || !secrets::same(&expected, &form.csrf) {
        return Ok(respond(
            StatusCode::FORBIDDEN,
            login_form(
                &next,
                &expected,
                Some("This form expired. Please sign in again."),
            ),
        ));
    }
    let signed_in = state
        .app
        .sign_in(&client_key(&req), &form.email, &form.password)
        .await;
    let user = match signed_in {
        Ok(user) => user,
        Err(SignInError::Service(error)) => return Err(error.into()),
        Err(refusal @ SignInError::RateLimited { .. }) => {
            let error = ApiError::from(refusal);
            let form = login_form(&next, &expected, Some(error.message()));
            return Ok(respond(error.status(), form));
        }
        Err(SignInError::WrongCredentials) => {
            let form = login_form(&next, &expected, Some("Wrong email or password."));
            return Ok(respond(StatusCode::UNAUTHORIZED, form));
        }
    };
    let now = state.now();
    let token = state
        .accounts(move |a| a.create_session(user.id, now))
        .await?;
    let mut response = redirect(&next);
    let max_age = CookieDuration::seconds(SESSION_LIFETIME.whole_seconds());
    response
        .add_cookie(&cookie(
            &state,
            SESSION_COOKIE,
            token.expose().to_owned(),
            max_age,
        ))
        .map_err(|e| ApiError::internal(&e))?;
    response
        .add_removal_cookie(&Cookie::build(LOGIN_CSRF_COOKIE, "").path("/").finish())
        .map_err(|e| ApiError::internal(&e))?;
    Ok(response)
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// The session of a form post, if its CSRF token matches.
pub(super) async fn form_session(
    req: &HttpRequest,
    state: &AppState,
    csrf: &str,
) -> Result<Option<Session>, ApiError> {
    Ok(session(req, state)
        .await?
        .filter(|s| secrets::same(&s.csrf, csrf)))
}

async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    if form_session(&req, &state, &form.csrf).await?.is_some()
        && let Some(cookie) = req.cookie(SESSION_COOKIE)
    {
        let token = cookie.value().to_owned();
        state.accounts(move |a| a.end_session(&token)).await?;
    }
    let mut response = redirect("/login");
    response
        .add_removal_cookie(&Cookie::build(SESSION_COOKIE, "").path("/").finish())
        .map_err(|e| ApiError::internal(&e))?;
    Ok(response)
}

#[derive(Deserialize)]
struct BootstrapQuery {
    token: Option<String>,
}

fn bootstrap_form(token: &str, error: Option<&str>) -> Markup {
    shell(
        "Create the first account",
        None,
        html! {
            div.card {
                h1 { "Create the first account" }
                p.muted { "This link works once, while no account exists. You will own the company you name." }
                @if let Some(error) = error { (notice("bad", error)) }
                form.stack method="post" action="/setup/bootstrap" {
                    input type="hidden" name="token" value=(token);
                    label { "Email" input type="email" name="email" required autofocus; }
                    label { "Password (10 characters or more)" input type="password" name="password" minlength="10" required; }
                    label { "Company" input type="text" name="company" maxlength="200" required; }
                    div.actions { button.primary type="submit" { "Create account" } }
                }
            }
        },
    )
}

async fn bootstrap_page(
    state: web::Data<AppState>,
    query: web::Query<BootstrapQuery>,
) -> Result<HttpResponse, ApiError> {
    let token = query.token.clone().unwrap_or_default();
    let valid = {
        let token = token.clone();
        state
            .accounts(move |a| a.bootstrap_token_is_valid(&token))
            .await?
    };
    if !valid {
        return Ok(message_page(
            StatusCode::NOT_FOUND,
            "Link used",
            "warn",
            "This first-run link was used already or is unknown. Sign in at /login.",
        ));
    }
    Ok(respond(StatusCode::OK, bootstrap_form(&token, None)))
}

#[derive(Deserialize)]
struct BootstrapForm {
    token: String,
    email: String,
    password: String,
    company: String,
}

async fn bootstrap(
    state: web::Data<AppState>,
    form: web::Form<BootstrapForm>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let Ok(email) = Email::parse(&form.email) else {
        return Ok(respond(
            StatusCode::BAD_REQUEST,
            bootstrap_form(&form.token, Some("That is not an email address.")),
        ));
    };
    let now = state.now();
    let token = form.token.clone();
    let created = state
        .accounts_result(move |a| {
            a.use_bootstrap_token(&token, &email, &form.password, &form.company, now)
        })
        .await?;
    let user = match created {
        Ok(user) => user,
        Err(error) => {
            return Ok(respond(
                StatusCode::BAD_REQUEST,
                bootstrap_form(&form.token, Some(&error.to_string())),
            ));
        }
    };
    let session = state.accounts(move |a| a.create_session(user, now)).await?;
    let mut response = redirect("/settings/integrations");
    let max_age = CookieDuration::seconds(SESSION_LIFETIME.whole_seconds());
    response
        .add_cookie(&cookie(
            &state,
            SESSION_COOKIE,
            session.expose().to_owned(),
            max_age,
        ))
        .map_err(|e| ApiError::internal(&e))?;
    Ok(response)
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    request: Option<String>,
}

fn code_form(session: &Session, error: Option<&str>) -> Markup {
    shell(
        "Connect a WooCommerce store",
        Some(session),
        html! {
            div.card {
                h1 { "Connect a WooCommerce store" }
                p.muted { "Type the code shown by the plugin in WordPress (Settings → woo-ingest)." }
                @if let Some(error) = error { (notice("bad", error)) }
                form.stack method="post" action="/setup/woocommerce/code" {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label { "Code" input type="text" name="code" placeholder="BCDF-GHJK" autocomplete="off" required autofocus; }
                    div.actions { button.primary type="submit" { "Continue" } }
                }
            }
        },
    )
}

/// The request page for every state of the request.
fn request_page(
    session: &Session,
    request_id: RequestId,
    pairing: &Pairing,
    managed: &[Membership],
    now: time::OffsetDateTime,
    error: Option<&str>,
) -> Markup {
    let Some(request) = pairing.request() else {
        return shell(
            "Connect a WooCommerce store",
            Some(session),
            html! { (notice("bad", "No such connection request.")) },
        );
    };
    let store = &request.store;
    html! {
        (shell("Connect a WooCommerce store", Some(session), html! {
            div.card {
                h1 { "Connect " (store.site_name) }
                @if let Some(error) = error { (notice("bad", error)) }
                @match pairing {
                    Pairing::Approved { approval, .. } | Pairing::Claimed { approval, .. } => {
                        (notice("ok", &format!("Approved: {} is connected to {}. Return to WordPress; the plugin finishes the connection by itself.", store.site_name, approval.company_name)))
                    }
                    Pairing::Denied { .. } => {
                        (notice("warn", "You denied this connection. The plugin was told; start again from WordPress to connect."))
                    }
                    _ if pairing.is_expired(now) => {
                        (notice("warn", "This connection request expired. Start again from WordPress (it takes a minute)."))
                    }
                    _ => {}
                }
                dl.facts {
                    dt { "Store" } dd { (store.store_url) }
                    dt { "Site name" } dd { (store.site_name) }
                    dt { "WooCommerce" } dd { (store.woocommerce_version) }
                    dt { "WordPress" } dd { (store.wordpress_version) }
                    dt { "Plugin" } dd { (store.plugin_version) }
                    @if let Some(php) = &store.php_version { dt { "PHP" } dd { (php) } }
                }
                @if matches!(pairing, Pairing::Pending(_)) && !pairing.is_expired(now) {
                    p { "Check that WordPress shows this code:" }
                    p { span.code data-testid="user-code" { (request.user_code) } }
                    @if managed.is_empty() {
                        (notice("warn", "You are not an owner or admin of any company, so you cannot connect this store. Ask an owner to add you."))
                    } @else {
                        form.stack method="post" action={ "/setup/woocommerce/" (request_id) "/approve" } {
                            input type="hidden" name="csrf" value=(session.csrf);
                            label { "Company that owns this store"
                                select name="company_id" {
                                    @for m in managed { option value=(m.company_id) { (m.company_name) } }
                                }
                            }
                            div.actions {
                                button.primary type="submit" { "Approve" }
                                button.danger type="submit" formaction={ "/setup/woocommerce/" (request_id) "/deny" } { "Deny" }
                            }
                        }
                    }
                }
            }
        }))
    }
}

async fn show_request(
    state: &AppState,
    session: &Session,
    request_id: RequestId,
    status: StatusCode,
    error: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let pairing = state.app.pairing(request_id).await?;
    if matches!(pairing, Pairing::Absent) {
        return Ok(message_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "bad",
            "No such connection request. Start again from WordPress.",
        ));
    }
    let user = session.user.id;
    let managed: Vec<Membership> = state
        .accounts(move |a| a.memberships(user))
        .await?
        .into_iter()
        .filter(|m| m.role.manages_integrations())
        .collect();
    Ok(respond(
        status,
        request_page(session, request_id, &pairing, &managed, state.now(), error),
    ))
}

async fn authorize_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<AuthorizeQuery>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = session(&req, &state).await? else {
        return Ok(to_login(&req));
    };
    match query.request.as_deref().map(str::parse::<RequestId>) {
        None => Ok(respond(StatusCode::OK, code_form(&session, None))),
        Some(Err(_)) => Ok(no_such_request()),
        Some(Ok(request_id)) => {
            show_request(&state, &session, request_id, StatusCode::OK, None).await
        }
    }
}

#[derive(Deserialize)]
struct CodeForm {
    csrf: String,
    code: String,
}

async fn enter_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = form_session(&req, &state, &form.csrf).await? else {
        return Ok(to_login(&req));
    };
    let now = state.now();
    let client = client_key(&req);
    if let Err(wait) = state.app.limits.user_codes_by_client.check(&client, now) {
        let message = format!(
            "Too many wrong codes. Try again in {} minutes.",
            wait.div_ceil(60)
        );
        return Ok(respond(
            StatusCode::TOO_MANY_REQUESTS,
            code_form(&session, Some(&message)),
        ));
    }
    let found = match UserCode::parse(&form.code) {
        Ok(code) => {
            state
                .read_model(move |conn| pairings::by_code(conn, code.as_str(), now))
                .await?
        }
        Err(_) => None,
    };
    match found {
        Some(request_id) => Ok(redirect(&format!(
            "/setup/woocommerce?request={request_id}"
        ))),
        None => {
            state.app.limits.user_codes_by_client.fail(&client, now);
            let message = "No pending connection has that code. Check the code in WordPress; codes expire after 15 minutes.";
            Ok(respond(
                StatusCode::BAD_REQUEST,
                code_form(&session, Some(message)),
            ))
        }
    }
}

#[derive(Deserialize)]
struct ApproveForm {
    csrf: String,
    company_id: String,
}

fn no_such_request() -> HttpResponse {
    message_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "bad",
        "No such connection request.",
    )
}

/// Shows the request page again after a decision on it: the outcome, or why not.
async fn after_decision(
    state: &AppState,
    session: &Session,
    request_id: RequestId,
    decided: Result<(), DecideError>,
) -> Result<HttpResponse, ApiError> {
    match decided {
        Ok(()) => Ok(redirect(&format!(
            "/setup/woocommerce?request={request_id}"
        ))),
        Err(DecideError::Service(error)) => Err(error.into()),
        Err(refusal) => {
            let error = ApiError::from(refusal);
            show_request(
                state,
                session,
                request_id,
                error.status(),
                Some(error.message()),
            )
            .await
        }
    }
}

async fn approve(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<ApproveForm>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = form_session(&req, &state, &form.csrf).await? else {
        return Ok(to_login(&req));
    };
    let Ok(request_id) = path.parse::<RequestId>() else {
        return Ok(no_such_request());
    };
    let decided = match form.company_id.parse::<CompanyId>() {
        Ok(company) => {
            state
                .app
                .approve(request_id, session.user.id, company)
                .await
        }
        Err(_) => Err(DecideError::NotAMember),
    };
    after_decision(&state, &session, request_id, decided).await
}

async fn deny(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = form_session(&req, &state, &form.csrf).await? else {
        return Ok(to_login(&req));
    };
    let Ok(request_id) = path.parse::<RequestId>() else {
        return Ok(no_such_request());
    };
    let decided = state.app.deny(request_id, session.user.id).await;
    after_decision(&state, &session, request_id, decided).await
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
