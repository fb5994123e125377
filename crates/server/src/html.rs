//! The pages' shared look: one layout, a few components, a small stylesheet. maud escapes every
//! value it interpolates, so store names and URLs sent by plugins cannot inject markup.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use maud::{DOCTYPE, Markup, PreEscaped, html};

const STYLE: &str = r#"
:root { --ink:#1d2330; --muted:#5b6475; --line:#e3e6ec; --bg:#f6f7f9; --brand:#6b3fd4; --brand-ink:#fff;
        --ok:#157347; --warn:#a15c00; --bad:#b42318; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
header { background:#fff; border-bottom:1px solid var(--line); padding:12px 24px; display:flex; align-items:center; gap:16px; }
header .brand { font-weight:700; letter-spacing:.2px; }
header .brand span { color:var(--brand); }
header nav { margin-left:auto; display:flex; gap:12px; align-items:center; color:var(--muted); }
main { max-width: 760px; margin: 32px auto; padding: 0 16px; }
main.wide { max-width: 1080px; }
h1 { font-size: 22px; margin: 0 0 16px; }
h2 { font-size: 17px; margin: 0 0 12px; }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:24px; margin-bottom:16px; }
.muted { color: var(--muted); }
dl.facts { display:grid; grid-template-columns: max-content 1fr; gap: 6px 20px; margin: 0 0 16px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap:anywhere; }
.code { font: 600 22px/1.2 ui-monospace, "SFMono-Regular", Menlo, monospace; letter-spacing: 3px; background:var(--bg);
        border:1px dashed var(--line); border-radius:8px; padding:10px 16px; display:inline-block; }
form.stack { display:flex; flex-direction:column; gap:12px; max-width: 420px; }
label { display:flex; flex-direction:column; gap:4px; font-weight:600; font-size:14px; }
input, select { font: inherit; padding: 8px 10px; border:1px solid #c9ced8; border-radius:6px; background:#fff; }
.actions { display:flex; gap:10px; margin-top: 8px; flex-wrap: wrap; }
button { font: inherit; font-weight:600; padding: 8px 16px; border-radius:6px; border:1px solid transparent; cursor:pointer; }
button.primary { background:var(--brand); color:var(--brand-ink); }
button.secondary { background:#fff; color:var(--ink); border-color:#c9ced8; }
button.danger { background:#fff; color:var(--bad); border-color:#f1c0bb; }
button.link { background:none; border:none; color:var(--muted); padding:0; font-weight:400; }
.notice { border-radius:8px; padding:12px 16px; margin-bottom:16px; border:1px solid; }
.notice.ok { background:#edf7f1; border-color:#b9e0c9; color:var(--ok); }
.notice.warn { background:#fff6e5; border-color:#f3d39b; color:var(--warn); }
.notice.bad { background:#fdeeed; border-color:#f4c1bc; color:var(--bad); }
.pill { display:inline-block; border-radius:999px; padding:2px 10px; font-size:13px; font-weight:600; }
.pill.healthy, .pill.completed { background:#e3f4ea; color:var(--ok); }
.pill.stale, .pill.pending, .pill.running { background:#fff1d6; color:var(--warn); }
.pill.disconnected, .pill.failed { background:#fbe4e2; color:var(--bad); }
"#;

/// A whole page. `user` is the signed-in email, shown with a sign-out button.
pub fn page(title: &str, user: Option<(&str, &str)>, wide: bool, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · woo-ingest" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    div.brand { "woo" span { "·" } "ingest" }
                    @if let Some((email, csrf)) = user {
                        nav {
                            span { (email) }
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(csrf);
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main.wide[wide] { (body) }
            }
        }
    }
}

pub fn notice(kind: &str, text: &str) -> Markup {
    html! { div class={ "notice " (kind) } role="status" { (text) } }
}

/// An HTML answer. Pages hold CSRF tokens and an Approve button: they are never framed (no
/// clickjacking of the approval), never cached, and load nothing from elsewhere.
pub fn respond(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; script-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

/// A page that only says something went wrong and what to do.
pub fn message_page(status: StatusCode, title: &str, kind: &str, text: &str) -> HttpResponse {
    respond(
        status,
        page(
            title,
            None,
            false,
            html! { h1 { (title) } (notice(kind, text)) },
        ),
    )
}
