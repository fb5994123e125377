//! The first-run account, created from the one-time link printed at startup.

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use woo_domain::values::Email;

use crate::accounts::SESSION_LIFETIME;
use crate::auth::SESSION_COOKIE;
use crate::html::{message_page, notice, respond};
use crate::{ApiError, AppState};

use super::{cookie, redirect, shell};

#[derive(Deserialize)]
pub(super) struct BootstrapQuery {
    token: Option<String>,
}

pub(super) fn bootstrap_form(token: &str, error: Option<&str>) -> Markup {
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

pub(super) async fn bootstrap_page(
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
pub(super) struct BootstrapForm {
    token: String,
    email: String,
    password: String,
    company: String,
}

pub(super) async fn bootstrap(
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
