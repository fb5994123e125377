//! Live sync status: while a sync waits or runs, Settings → Integrations follows it over
//! server-sent events. `/static/live.js` (a file, as the pages' CSP allows no inline script)
//! opens `/settings/integrations/{id}/live` and swaps in the sync section the server renders;
//! without JavaScript the page still works, with a reload link.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration as StdDuration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use tokio::sync::mpsc;

use crate::auth::session;
use crate::{ApiError, AppState};

use super::pages::to_login;
use super::settings::{not_found, sync_section, visible_store};

/// How often the server looks at the sync while someone follows it.
const TICK: StdDuration = StdDuration::from_secs(1);
/// Ticks a page follows one sync for at most (ten minutes), then the browser reconnects.
const MAX_FOLLOW: u32 = 600;

const SCRIPT: &str = r#"// Follows a running sync: each [data-live] element is replaced by what the server sends.
for (const el of document.querySelectorAll("[data-live]")) {
  const source = new EventSource(el.dataset.live);
  source.onmessage = (event) => { el.innerHTML = event.data; };
  source.addEventListener("done", () => source.close());
}
"#;

pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "max-age=300"))
        .body(SCRIPT)
}

/// A response body fed from a channel, for as long as the sender runs.
struct EventStream(mpsc::Receiver<Bytes>);

impl MessageBody for EventStream {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.get_mut().0.poll_recv(cx).map(|next| next.map(Ok))
    }
}

/// One server-sent event: every line of `data` is a `data:` line.
fn event(name: Option<&str>, data: &str) -> Bytes {
    let mut text = String::new();
    if let Some(name) = name {
        text.push_str(&format!("event: {name}\n"));
    }
    for line in data.lines() {
        text.push_str(&format!("data: {line}\n"));
    }
    text.push('\n');
    Bytes::from(text)
}

pub async fn follow(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let Some(session) = session(&req, &state).await? else {
        return Ok(to_login(&req));
    };
    let Some((store, membership)) = visible_store(&state, &session, &path).await? else {
        return Ok(not_found());
    };
    let (sender, receiver) = mpsc::channel(4);
    actix_web::rt::spawn(async move {
        // The page was rendered a moment ago: while the sync still moves, what it shows now is
        // not sent again (replacing identical markup would only disturb whoever reads the page);
        // a final state always is.
        let mut sent: Option<String> = None;
        for _ in 0..MAX_FOLLOW {
            // The page was closed: stop looking.
            if sender.is_closed() {
                return;
            }
            let Ok((markup, live)) = sync_section(&state, &store, &membership, &session.csrf).await
            else {
                return;
            };
            let markup = markup.into_string();
            match &sent {
                None if live => sent = Some(markup),
                Some(shown) if *shown == markup => {}
                _ => {
                    if sender.send(event(None, &markup)).await.is_err() {
                        return;
                    }
                    sent = Some(markup);
                }
            }
            if !live {
                // The last word; a page already gone has nothing to close.
                sender.send(event(Some("done"), "finished")).await.ok();
                return;
            }
            tokio::time::sleep(TICK).await;
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(EventStream(receiver)))
}

#[cfg(test)]
mod tests {
    use super::event;

    #[test]
    fn every_line_of_an_event_is_a_data_line() {
        assert_eq!(
            event(Some("done"), "a\nb"),
            "event: done\ndata: a\ndata: b\n\n"
        );
        assert_eq!(event(None, "<div>x</div>"), "data: <div>x</div>\n\n");
    }
}
