//! Signing in and out of the pages.

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;

use crate::accounts::SESSION_LIFETIME;
use crate::app::SignInError;
use crate::auth::{CookieName, SESSION_COOKIE, client_key, session};
use crate::html::{notice, respond};
use crate::secrets::{self, Secret};
use crate::{ApiError, AppState};

use super::{CsrfForm, cookie, form_session, local_path, redirect, removal, shell};

const LOGIN_CSRF_COOKIE: CookieName = CookieName::new("woo_login_csrf", "__Host-woo_login_csrf");

#[derive(Deserialize)]
pub(super) struct Next {
    next: Option<String>,
}

pub(super) fn login_form(next: &str, csrf: &str, error: Option<&str>) -> Markup {
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

pub(super) async fn login_page(
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
pub(super) struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

pub(super) async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ApiError> {
    let next = local_path(form.next.as_deref());
    let expected = req
        .cookie(LOGIN_CSRF_COOKIE.on(&state))
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
        .add_removal_cookie(&removal(&state, LOGIN_CSRF_COOKIE))
        .map_err(|e| ApiError::internal(&e))?;
    Ok(response)
}

pub(super) async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    if form_session(&req, &state, &form.csrf).await?.is_some()
        && let Some(cookie) = req.cookie(SESSION_COOKIE.on(&state))
    {
        let token = cookie.value().to_owned();
        state.accounts(move |a| a.end_session(&token)).await?;
    }
    let mut response = redirect("/login");
    response
        .add_removal_cookie(&removal(&state, SESSION_COOKIE))
        .map_err(|e| ApiError::internal(&e))?;
    Ok(response)
}
