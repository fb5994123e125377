//! Why a subscriber holds a tag or not: the latest writes to each tag register (the event, its
//! type, when, and the order number when an order decided it), so a page can say "in checkout
//! since 10:05 by checkout_started; cart cleared by order #1234 at 10:10".
//!
//! Every write is kept, whether or not it won the register, and only the `KEPT` newest by
//! `(at, event_id)` stay: that set depends on which events arrived, never on their order or how
//! often they repeat, so rebuilds and out-of-order deliveries leave the same rows.
//!
//! The writes live in the subscriber's own row as one compact blob (`history` of
//! `subscriber_tags`), read and written with the registers: a separate table of one row per write
//! cost five statements per tag and a B-tree five times the size of the tags', and the pages a
//! batch dirties are what its commit costs. Each write takes about 20 bytes and its order number,
//! so the at most `2 × KEPT` writes keep the row well inside one page.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;
use woo_domain::commerce::CommerceEventType;

use crate::decode::from_millis;

use super::{IN_CART, IN_CHECKOUT};

/// Writes kept per subscriber and tag: enough for the last few carts, checkouts and orders.
pub const KEPT: usize = 8;

/// One event that set or cleared a tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TagWrite {
    pub tag: &'static str,
    /// `true` when the event set the tag, `false` when it cleared it.
    pub set: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub event_type: String,
    pub event_id: String,
    /// The number the merchant knows the order by, when an order decided the tag.
    pub order_number: Option<String>,
    /// The event came before the shopper was known (an anonymous cart joined to them later).
    pub stitched: bool,
}

/// The two tag registers, in the order their names sort (`ecommerce.in_cart` first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Tag {
    InCart,
    InCheckout,
}

impl Tag {
    fn name(self) -> &'static str {
        match self {
            Self::InCart => IN_CART,
            Self::InCheckout => IN_CHECKOUT,
        }
    }
}

/// The event types that write tags, by the code a kept write stores. Stored codes: only append.
const TYPES: [CommerceEventType; 9] = [
    CommerceEventType::CartStarted,
    CommerceEventType::CartUpdated,
    CommerceEventType::CartCleared,
    CommerceEventType::CheckoutStarted,
    CommerceEventType::OrderPlaced,
    CommerceEventType::OrderUpdated,
    CommerceEventType::OrderCompleted,
    CommerceEventType::OrderCancelled,
    CommerceEventType::OrderRefunded,
];

const TYPE_BITS: u8 = 0x0f;
const CHECKOUT_BIT: u8 = 0x10;
const SET_BIT: u8 = 0x20;
const STITCHED_BIT: u8 = 0x40;
const NUMBER_BIT: u8 = 0x80;

/// One write to a tag register or the cart: when (with the event id to break ties), and what
/// the event was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Write<'a> {
    pub at: i64,
    pub event_id: Uuid,
    pub event_type: CommerceEventType,
    pub order_number: Option<&'a str>,
    pub stitched: bool,
}

/// One kept write, as it sorts: by tag, then `(at, event_id)`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Kept {
    tag: Tag,
    at: i64,
    event_id: Uuid,
    code: u8,
    set: bool,
    stitched: bool,
    order_number: Option<String>,
}

impl Kept {
    fn key(&self) -> (Tag, i64, Uuid) {
        (self.tag, self.at, self.event_id)
    }
}

/// The kept writes of one subscriber, sorted by tag and `(at, event_id)`.
#[derive(Debug, Default)]
pub(super) struct History(Vec<Kept>);

/// A kept history that does not read back, or a write it cannot keep: only a bug makes one.
#[derive(Debug)]
pub struct Unreadable(&'static str);

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the kept tag history: {}", self.0)
    }
}

impl std::error::Error for Unreadable {}

impl History {
    /// Keeps `write` in the history of `tag` and drops what falls beyond the `KEPT` newest.
    /// Returns whether the history changed (a repeated or too old write changes nothing).
    pub(super) fn record(
        &mut self,
        tag: Tag,
        set: bool,
        write: &Write<'_>,
    ) -> Result<bool, Unreadable> {
        let key = (tag, write.at, write.event_id);
        let Err(at) = self.0.binary_search_by(|k| k.key().cmp(&key)) else {
            return Ok(false);
        };
        let code = TYPES
            .iter()
            .position(|t| *t == write.event_type)
            .and_then(|c| u8::try_from(c).ok())
            .ok_or(Unreadable("an event type that writes no tag"))?;
        self.0.insert(
            at,
            Kept {
                tag,
                at: write.at,
                event_id: write.event_id,
                code,
                set,
                stitched: write.stitched,
                order_number: write.order_number.map(str::to_owned),
            },
        );
        let first = self.0.partition_point(|k| k.tag < tag);
        let count = self.0[first..].partition_point(|k| k.tag == tag);
        if count <= KEPT {
            return Ok(true);
        }
        // The oldest of this tag goes: when that is the write just added, nothing changed.
        self.0.remove(first);
        Ok(at != first)
    }

    /// Whether the newest write to `tag` set it: the value of its register, which the newest
    /// write decides and which is always kept.
    pub(super) fn holds(&self, tag: Tag) -> bool {
        self.0
            .iter()
            .rev()
            .find(|k| k.tag == tag)
            .is_some_and(|k| k.set)
    }

    /// Each write: its flags, `at` as the zigzag varint of its difference from the previous
    /// write's (a few bytes, where the time itself takes eight), the event id, and the order
    /// number as a varint length and its bytes when there is one.
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() * 24);
        let mut previous = 0i64;
        for kept in &self.0 {
            let mut flags = kept.code & TYPE_BITS;
            for (on, bit) in [
                (kept.tag == Tag::InCheckout, CHECKOUT_BIT),
                (kept.set, SET_BIT),
                (kept.stitched, STITCHED_BIT),
                (kept.order_number.is_some(), NUMBER_BIT),
            ] {
                if on {
                    flags |= bit;
                }
            }
            out.push(flags);
            let delta = kept.at.wrapping_sub(previous);
            previous = kept.at;
            put_varint(&mut out, ((delta << 1) ^ (delta >> 63)) as u64);
            out.extend_from_slice(kept.event_id.as_bytes());
            if let Some(number) = &kept.order_number {
                put_varint(&mut out, number.len() as u64);
                out.extend_from_slice(number.as_bytes());
            }
        }
        out
    }

    pub(super) fn decode(mut bytes: &[u8]) -> Result<Self, Unreadable> {
        let mut kept = Vec::new();
        let mut previous = 0i64;
        while let Some((&flags, rest)) = bytes.split_first() {
            bytes = rest;
            let zigzag = get_varint(&mut bytes)?;
            let at = previous.wrapping_add(((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64));
            previous = at;
            let (id, rest) = bytes
                .split_first_chunk::<16>()
                .ok_or(Unreadable("cut short"))?;
            bytes = rest;
            let order_number = if flags & NUMBER_BIT == 0 {
                None
            } else {
                let len = usize::try_from(get_varint(&mut bytes)?)
                    .map_err(|_| Unreadable("a length overflows"))?;
                let (number, rest) = bytes.split_at_checked(len).ok_or(Unreadable("cut short"))?;
                bytes = rest;
                Some(
                    String::from_utf8(number.to_vec())
                        .map_err(|_| Unreadable("an order number is not UTF-8"))?,
                )
            };
            kept.push(Kept {
                tag: if flags & CHECKOUT_BIT == 0 {
                    Tag::InCart
                } else {
                    Tag::InCheckout
                },
                at,
                event_id: Uuid::from_bytes(*id),
                code: flags & TYPE_BITS,
                set: flags & SET_BIT != 0,
                stitched: flags & STITCHED_BIT != 0,
                order_number,
            });
        }
        Ok(Self(kept))
    }

    /// The kept writes, per tag, oldest first.
    pub(super) fn writes(self) -> Result<Vec<TagWrite>, Unreadable> {
        self.0
            .into_iter()
            .map(|kept| {
                let event_type = TYPES
                    .get(usize::from(kept.code))
                    .ok_or(Unreadable("an unknown event type"))?;
                Ok(TagWrite {
                    tag: kept.tag.name(),
                    set: kept.set,
                    at: from_millis(kept.at),
                    event_type: event_type.as_str().to_owned(),
                    event_id: kept.event_id.to_string(),
                    order_number: kept.order_number,
                    stitched: kept.stitched,
                })
            })
            .collect()
    }
}

/// LEB128: seven bits a byte, low bits first, the high bit says another byte follows.
fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value & 0x7f) as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn get_varint(bytes: &mut &[u8]) -> Result<u64, Unreadable> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first().ok_or(Unreadable("cut short"))?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(Unreadable("a number overflows"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(at: i64, id: u128, order_number: Option<&str>) -> Write<'_> {
        Write {
            at,
            event_id: Uuid::from_u128(id),
            event_type: if order_number.is_some() {
                CommerceEventType::OrderPlaced
            } else {
                CommerceEventType::CartUpdated
            },
            order_number,
            stitched: id.is_multiple_of(2),
        }
    }

    #[test]
    fn the_kept_writes_read_back_as_written() {
        let long = "W".repeat(300);
        let mut history = History::default();
        for (tag, set, w) in [
            (Tag::InCheckout, true, write(5, 1, None)),
            (Tag::InCart, false, write(7, 2, Some("1234"))),
            (Tag::InCart, true, write(3, 4, Some(long.as_str()))),
        ] {
            assert!(history.record(tag, set, &w).unwrap());
        }
        let read = History::decode(&history.encode())
            .unwrap()
            .writes()
            .unwrap();
        let summary: Vec<_> = read
            .iter()
            .map(|w| {
                (
                    w.tag,
                    w.set,
                    w.event_type.as_str(),
                    w.order_number.as_deref(),
                    w.stitched,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    IN_CART,
                    true,
                    "ecommerce.order_placed",
                    Some(long.as_str()),
                    true
                ),
                (IN_CART, false, "ecommerce.order_placed", Some("1234"), true),
                (IN_CHECKOUT, true, "ecommerce.cart_updated", None, false),
            ]
        );
        assert_eq!(read[1].event_id, Uuid::from_u128(2).to_string());
        assert_eq!(read[1].at, from_millis(7));
    }

    #[test]
    fn only_the_newest_writes_stay_whatever_the_order_and_repeats() {
        let writes: Vec<_> = (0..20)
            .map(|n| write(n / 2, 100 - n as u128, None))
            .collect();
        let mut forwards = History::default();
        for w in &writes {
            forwards.record(Tag::InCart, true, w).unwrap();
        }
        let mut backwards = History::default();
        for w in writes.iter().rev().chain(&writes) {
            backwards.record(Tag::InCart, true, w).unwrap();
        }
        assert_eq!(forwards.encode(), backwards.encode());
        let kept: Vec<i64> = forwards.0.iter().map(|k| k.at).collect();
        assert_eq!(kept, [6, 6, 7, 7, 8, 8, 9, 9]);
        assert!(
            !forwards.record(Tag::InCart, true, &writes[0]).unwrap(),
            "a write older than the kept ones changes nothing"
        );
        assert!(!forwards.record(Tag::InCart, true, &writes[19]).unwrap());
    }

    #[test]
    fn any_time_reads_back_and_the_newest_write_decides_the_tag() {
        let mut history = History::default();
        for (n, at) in [i64::MAX, i64::MIN, -1, 0, 1_780_000_000_000]
            .into_iter()
            .enumerate()
        {
            let w = write(at, 10 + n as u128, None);
            history.record(Tag::InCart, n == 0, &w).unwrap();
            history.record(Tag::InCheckout, n == 1, &w).unwrap();
        }
        let read = History::decode(&history.encode()).unwrap();
        let times: Vec<i64> = read.0.iter().map(|k| k.at).collect();
        let sorted = [i64::MIN, -1, 0, 1_780_000_000_000, i64::MAX];
        assert_eq!(times, [sorted, sorted].concat());
        assert!(read.holds(Tag::InCart), "the write at i64::MAX set in_cart");
        assert!(!read.holds(Tag::InCheckout));
        assert!(!History::default().holds(Tag::InCart));
    }

    #[test]
    fn a_damaged_history_is_an_error_not_a_panic() {
        let mut history = History::default();
        history
            .record(Tag::InCart, false, &write(1, 2, Some("1234")))
            .unwrap();
        let bytes = history.encode();
        for end in 1..bytes.len() {
            assert!(History::decode(&bytes[..end]).is_err(), "cut at {end}");
        }
        let mut unknown = bytes.clone();
        unknown[0] |= TYPE_BITS;
        assert!(History::decode(&unknown).unwrap().writes().is_err());
    }
}
