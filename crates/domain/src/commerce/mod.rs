//! Commerce facts from a store (stream `store-{integration_id}`): live `ecommerce.*` events and
//! the records of a sync. The data is the WooCommerce resource as received; [`resources`] reads
//! what the read models need out of it, leniently, in one place.

mod canonical;
mod event_type;
pub mod lenient;
pub mod resources;

pub use canonical::{canonical, string_end};
pub use event_type::{CommerceEventType, Subject};

use serde_json::value::RawValue;
use time::OffsetDateTime;

use crate::values::Email;
use lenient::WooId;
use resources::{Customer, Deletion, GuestBuyer, Order, Product, Refund, ShopperActivity};

/// What kind of resource an event's data is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resource {
    Product,
    Customer,
    Order,
    /// A refund resource, or an order resource after the refund.
    RefundOrOrder,
    Shopper,
    GuestBuyer,
    /// Only the id is known: `{"id": 794}` (what WooCommerce sends for a deletion).
    Deletion,
}

/// The types a plugin may send live on `/events`, and what their data is; the `*_synced` ones
/// only come from sync batches.
pub fn live_type(event_type: &str) -> Option<Resource> {
    CommerceEventType::parse(event_type)
        .filter(|kind| !kind.is_synced())
        .map(CommerceEventType::resource)
}

/// A sync batch's resource and the event type its items are stored as.
pub fn synced_type(resource: &str) -> Option<(&'static str, Resource)> {
    CommerceEventType::synced(resource).map(|kind| (kind.as_str(), kind.resource()))
}

/// Why a delivered item cannot be used, with the JSON path inside the item's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub message: String,
    pub path: String,
}

impl Rejection {
    fn new(code: &'static str, path: &str, message: impl Into<String>) -> Self {
        Rejection {
            code,
            message: message.into(),
            path: path.to_owned(),
        }
    }
}

fn read<T: serde::de::DeserializeOwned>(data: &RawValue) -> Result<T, Rejection> {
    // The fast read first: tracking the path costs on every field, and only a refusal needs it.
    if let Ok(value) = serde_json::from_str(data.get()) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_str(data.get());
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        Rejection::new(
            "invalid_data",
            if path == "." { "" } else { &path },
            e.into_inner().to_string(),
        )
    })
}

fn require_id(id: WooId, what: &str) -> Result<(), Rejection> {
    if id == WooId(0) {
        return Err(Rejection::new(
            "missing_id",
            "id",
            format!("{what} without an id cannot be used"),
        ));
    }
    Ok(())
}

/// Checks that `data` can be used as `resource`: an object, with the id or email the read models
/// key on. Everything else in it is kept as received and read leniently later.
pub fn check(resource: Resource, data: &RawValue) -> Result<(), Rejection> {
    if !data.get().trim_start().starts_with('{') {
        return Err(Rejection::new(
            "invalid_data",
            "",
            "the data must be a JSON object",
        ));
    }
    match resource {
        Resource::Product => require_id(read::<Product>(data)?.id, "a product"),
        Resource::Deletion => require_id(read::<Deletion>(data)?.id, "a deletion"),
        Resource::Customer => require_id(read::<Customer>(data)?.id, "a customer"),
        Resource::Order => require_id(read::<Order>(data)?.id, "an order"),
        Resource::RefundOrOrder => {
            let refund = read::<Refund>(data)?;
            if refund.amount.is_some() {
                require_id(refund.id, "a refund")?;
                refund.order().map(drop).ok_or_else(|| {
                    Rejection::new(
                        "missing_order",
                        "order_id",
                        "a refund must name its order (order_id or _links.up)",
                    )
                })
            } else {
                require_id(read::<Order>(data)?.id, "an order")
            }
        }
        Resource::Shopper => {
            let activity = read::<ShopperActivity>(data)?;
            let keyed = [&activity.session_key, &activity.cart_token]
                .iter()
                .any(|key| !key.trim().is_empty());
            match Email::parse(&activity.email) {
                Ok(_) => Ok(()),
                // An anonymous cart: kept until an event names both its key and an email.
                Err(_) if activity.email.trim().is_empty() && keyed => Ok(()),
                Err(_) if activity.email.trim().is_empty() => Err(Rejection::new(
                    "unknown_shopper",
                    "email",
                    "cart and checkout events need the shopper's email, or the session_key or cart_token of a cart whose shopper is not known yet",
                )),
                Err(reason) => Err(Rejection::new("invalid_email", "email", reason)),
            }
        }
        Resource::GuestBuyer => {
            let guest = read::<GuestBuyer>(data)?;
            Email::parse(&guest.email)
                .map(drop)
                .map_err(|reason| Rejection::new("invalid_email", "email", reason))
        }
    }
}

/// Parses an event's `occurred_at` (RFC 3339, or a WooCommerce GMT date).
pub fn occurred_at(text: &str) -> Option<OffsetDateTime> {
    lenient::parse_date(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    #[test]
    fn only_live_types_are_accepted_live() {
        assert_eq!(live_type("ecommerce.order_placed"), Some(Resource::Order));
        assert_eq!(
            live_type("ecommerce.order_synced"),
            None,
            "a sync record never arrives as live activity"
        );
        assert_eq!(live_type("ecommerce.nope"), None);
        assert_eq!(
            synced_type("guests"),
            Some(("ecommerce.guest_buyer_synced", Resource::GuestBuyer))
        );
    }

    #[test]
    fn deletions_are_taken_live_and_name_what_they_delete() {
        for (name, body) in [
            ("ecommerce.order_deleted", r#"{"id":727}"#),
            ("ecommerce.customer_deleted", r#"{"id":25}"#),
            ("ecommerce.product_deleted", r#"{"id":794}"#),
        ] {
            let resource = live_type(name).unwrap_or_else(|| panic!("{name} is taken live"));
            assert_eq!(resource, Resource::Deletion);
            assert_eq!(check(resource, &raw(body)), Ok(()));
        }
        let without_id = check(Resource::Deletion, &raw(r#"{"reason":"gone"}"#)).unwrap_err();
        assert_eq!(
            (without_id.code, without_id.message.as_str()),
            ("missing_id", "a deletion without an id cannot be used")
        );
    }

    #[test]
    fn missing_id_messages_read_as_english() {
        let message = |resource, body: &str| check(resource, &raw(body)).unwrap_err().message;
        assert_eq!(
            message(Resource::Order, r#"{"status":"processing"}"#),
            "an order without an id cannot be used"
        );
        assert_eq!(
            message(Resource::Product, r#"{"name":"Hoodie"}"#),
            "a product without an id cannot be used"
        );
        assert_eq!(
            message(Resource::Customer, r#"{"email":"ada@example.com"}"#),
            "a customer without an id cannot be used"
        );
        assert_eq!(
            message(Resource::RefundOrOrder, r#"{"amount":"1.00","order_id":5}"#),
            "a refund without an id cannot be used"
        );
    }

    #[test]
    fn unusable_data_is_rejected_with_a_reason_and_a_path() {
        let order_without_id =
            check(Resource::Order, &raw(r#"{"status": "processing"}"#)).unwrap_err();
        assert_eq!(
            (order_without_id.code, order_without_id.path.as_str()),
            ("missing_id", "id")
        );
        let cart_without_email =
            check(Resource::Shopper, &raw(r#"{"cart": {"items": []}}"#)).unwrap_err();
        assert_eq!(cart_without_email.code, "unknown_shopper");
        let blank_keys = r#"{"email": " ", "session_key": " ", "cart_token": null, "cart": {}}"#;
        assert_eq!(
            check(Resource::Shopper, &raw(blank_keys)).unwrap_err().code,
            "unknown_shopper"
        );
        let anonymous = r#"{"session_key": "t_5a8bc0c3e8c64ad2b8e0b2d5bd3c5e", "cart": {}}"#;
        assert_eq!(check(Resource::Shopper, &raw(anonymous)), Ok(()));
        let bad_email = r#"{"email": "nobody", "cart_token": "ct-1", "cart": {}}"#;
        assert_eq!(
            check(Resource::Shopper, &raw(bad_email)).unwrap_err().code,
            "invalid_email"
        );
        let bad_total = check(Resource::Order, &raw(r#"{"id": 1, "total": "lots"}"#)).unwrap_err();
        assert_eq!(
            (bad_total.code, bad_total.path.as_str()),
            ("invalid_data", "total")
        );
        assert_eq!(
            check(Resource::Product, &raw("[1, 2]")).unwrap_err().code,
            "invalid_data"
        );
        let orphan_refund = check(
            Resource::RefundOrOrder,
            &raw(r#"{"id": 5, "amount": "1.00"}"#),
        )
        .unwrap_err();
        assert_eq!(orphan_refund.code, "missing_order");
    }

    #[test]
    fn usable_data_passes() {
        assert_eq!(check(Resource::Deletion, &raw(r#"{"id":794}"#)), Ok(()));
        assert_eq!(
            check(
                Resource::Shopper,
                &raw(r#"{"email": " Ada@Example.com ", "cart": []}"#)
            ),
            Ok(())
        );
        assert_eq!(
            check(
                Resource::RefundOrOrder,
                &raw(r#"{"id": 9, "status": "refunded"}"#)
            ),
            Ok(())
        );
    }
}
