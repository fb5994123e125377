//! Why a subscriber holds a tag or not, as the subscriber page says it: "In checkout since 10:05
//! by checkout_started", "Not in cart: cleared by order #1234 at 10:10", then the kept writes.

use maud::{Markup, html};
use time::OffsetDateTime;
use woo_projections::subscriber_tags::{IN_CHECKOUT, TagWrite, Tags};

use super::view::clock;

/// What set or cleared a tag, as the merchant knows it: `order #1234`, or the event's type.
fn cause(write: &TagWrite) -> String {
    match &write.order_number {
        Some(number) => format!("order #{number}"),
        None => write
            .event_type
            .strip_prefix("ecommerce.")
            .unwrap_or(&write.event_type)
            .to_owned(),
    }
}

/// One tag's story: where it stands and since which event ("In checkout since 10:05 by
/// checkout_started"), then every kept write, newest first.
pub(super) fn why(tag: &str, tags: &Tags, now: OffsetDateTime) -> Markup {
    let writes: Vec<&TagWrite> = tags.history.iter().filter(|w| w.tag == tag).collect();
    let (Some(last), Some(since)) = (writes.last(), tags.since(tag)) else {
        return html! {};
    };
    let (name, verb) = if tag == IN_CHECKOUT {
        ("checkout", "In checkout")
    } else {
        ("cart", "In cart")
    };
    html! {
        div data-testid="tag-why" data-tag=(tag) {
            p {
                @if last.set {
                    strong { (verb) } " since " (clock(since.at, now)) " by " (cause(since))
                    @if since.stitched { ", before they were known" }
                } @else {
                    strong { "Not in " (name) } ": cleared by " (cause(since)) " at " (clock(since.at, now))
                }
            }
            ul.muted aria-label={ (verb) " history" } {
                @for write in writes.iter().rev() {
                    li data-testid="tag-write" {
                        @if write.set { "set" } @else { "cleared" } " by " (cause(write)) " at " (clock(write.at, now))
                        @if write.stitched { " " span.pill.stitched title="This cart event came before the shopper was known; it joined their record when they identified with the same session." { "before they were known" } }
                    }
                }
            }
        }
    }
}
