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
input, select { font: inherit; font-weight:400; padding: 8px 10px; border:1px solid #c9ced8; border-radius:6px; background:#fff; min-height:40px; }
.actions { display:flex; gap:10px; margin-top: 12px; flex-wrap: wrap; align-items:center; }
.card > :first-child { margin-top:0; }
h3 { font-size:15px; margin:16px 0 8px; }
code { background:var(--bg); border-radius:4px; padding:1px 5px; }
button { font: inherit; font-weight:600; min-height:40px; padding: 8px 16px; border-radius:6px; border:1px solid transparent; cursor:pointer; }
button.primary { background:var(--brand); color:var(--brand-ink); }
button.secondary { background:#fff; color:var(--ink); border-color:#c9ced8; }
button.danger { background:#fff; color:var(--bad); border-color:#f1c0bb; }
button.link { background:none; border:none; color:var(--muted); padding:0; font-weight:400; min-height:0; }
.notice { border-radius:8px; padding:12px 16px; margin-bottom:16px; border:1px solid; }
.notice.ok { background:#edf7f1; border-color:#b9e0c9; color:var(--ok); }
.notice.warn { background:#fff6e5; border-color:#f3d39b; color:var(--warn); }
.notice.bad { background:#fdeeed; border-color:#f4c1bc; color:var(--bad); }
.pill { display:inline-block; border-radius:999px; padding:2px 10px; font-size:13px; font-weight:600; }
.pill.healthy, .pill.completed { background:#e3f4ea; color:var(--ok); }
.pill.stale, .pill.pending, .pill.running { background:#fff1d6; color:var(--warn); }
.pill.disconnected, .pill.failed, .pill.stalled { background:#fbe4e2; color:var(--bad); }
.pill.cart { background:#e8e1fb; color:#4b2a9e; }
.pill.checkout { background:#fff1d6; color:var(--warn); }
header nav.main { margin-left:0; gap:4px; }
header nav.main a { color:var(--ink); text-decoration:none; padding:6px 10px; border-radius:6px; }
header nav.main a[aria-current=page] { background:var(--bg); color:var(--brand); font-weight:600; }
a { color:var(--brand); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible
    { outline:3px solid #b79cf0; outline-offset:2px; }
.table-wrap { overflow-x:auto; }
table { width:100%; border-collapse:collapse; font-size:14px; }
th { text-align:left; color:var(--muted); font-weight:600; border-bottom:1px solid var(--line); padding:8px 10px; white-space:nowrap; }
td { border-bottom:1px solid var(--line); padding:10px; vertical-align:top; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; white-space:nowrap; }
tr:last-child td { border-bottom:none; }
form.filters { display:flex; gap:12px; align-items:flex-end; flex-wrap:wrap; margin-bottom:16px; }
form.filters label { font-size:13px; }
.progress { display:grid; grid-template-columns: 90px 1fr max-content; gap:6px 12px; align-items:center; margin:8px 0; font-size:14px; }
progress { width:100%; height:8px; appearance:none; border:none; border-radius:999px; background:var(--line); overflow:hidden; }
progress::-webkit-progress-bar { background:var(--line); border-radius:999px; }
progress::-webkit-progress-value { background:var(--brand); border-radius:999px; }
progress::-moz-progress-bar { background:var(--brand); border-radius:999px; }
.pill.waiting { background:#fff1d6; color:var(--warn); }
.pill.cancelled { background:var(--line); color:var(--muted); }
.pill.stitched { background:#e6f0fb; color:#1d4f8a; font-weight:500; }
.chips { display:flex; gap:8px; flex-wrap:wrap; margin-bottom:12px; }
.chips a { border:1px solid var(--line); border-radius:999px; padding:4px 12px; text-decoration:none; color:var(--ink); background:#fff; font-size:14px; }
.chips a[aria-current=true] { border-color:var(--brand); color:var(--brand); font-weight:600; }
.pager { display:flex; justify-content:space-between; gap:12px; margin-top:12px; }
.event-row { display:grid; grid-template-columns: minmax(120px,1.2fr) 2fr 1fr max-content; gap:4px 16px; padding:10px 0; border-top:1px solid var(--line); align-items:baseline; }
.event-row details { grid-column:1 / -1; }
.event-row pre { white-space:pre-wrap; overflow-wrap:anywhere; font-size:12px; background:var(--bg); padding:8px; border-radius:6px; }
svg.chart { display:block; max-width:100%; height:auto; }
svg.chart rect { fill:var(--brand); }
svg.chart text { fill:var(--muted); font-size:10px; }
code { font-size:13px; }
@media (max-width: 640px) {
  header { padding:10px 12px; flex-wrap:wrap; gap:8px; }
  header nav.main { order:3; width:100%; }
  main { margin:16px auto; padding:0 10px; }
  .card { padding:16px; }
  dl.facts { grid-template-columns: 1fr; gap:2px; }
  dl.facts dd { margin-bottom:8px; }
  .event-row { grid-template-columns: 1fr; }
  .event-row > span:empty { display:none; }
  table.stack thead { display:none; }
  table.stack tr { display:block; border-bottom:1px solid var(--line); padding:8px 0; }
  table.stack td { display:block; border:none; padding:4px 0; text-align:right; overflow:hidden; }
  table.stack td::before { content: attr(data-label); float:left; margin-right:12px; color:var(--muted); font-weight:600; }
}
"#;

/// The pages a signed-in person moves between.
const SECTIONS: [(&str, &str); 3] = [
    ("Integrations", "/settings/integrations"),
    ("Carts", "/carts"),
    ("Subscribers", "/subscribers"),
];

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
                    @if user.is_some() {
                        nav.main aria-label="Sections" {
                            @for (name, href) in SECTIONS {
                                a href=(href) aria-current=[(name == title).then_some("page")] { (name) }
                            }
                        }
                    }
                    @if let Some((email, csrf)) = user {
                        nav aria-label="Account" {
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
