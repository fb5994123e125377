//! A cart or checkout event as the tags read it: `ShopperActivity`'s fields that decide tags,
//! cart and stitching, read as it reads them, with the cart read in one pass. The lenient
//! `object_or_empty` and `list_or_empty` first capture a field's raw text and then parse it again,
//! so a cart's items were scanned three times; that was most of the cost of reading a cart event.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use woo_domain::commerce::lenient::{WooId, object_or_empty, text};
use woo_domain::commerce::resources::{CartItem, CartTotals};

#[derive(Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct Activity {
    #[serde(deserialize_with = "text")]
    pub email: String,
    /// Read though unused so that an event whose customer id does not read stops here as it did.
    #[serde(rename = "customer_id")]
    _customer_id: WooId,
    #[serde(deserialize_with = "text")]
    pub session_key: String,
    #[serde(deserialize_with = "text")]
    pub cart_token: String,
    #[serde(deserialize_with = "text")]
    pub previous_session_key: String,
    #[serde(deserialize_with = "one_pass")]
    pub cart: Cart,
    #[serde(deserialize_with = "text")]
    pub checkout_url: String,
}

/// A Store API cart: `null`, `[]` or `{}` for none; its items a list or an object keyed "0", "1", ….
#[derive(Default)]
pub(super) struct Cart {
    pub items: Vec<CartItem>,
    pub totals: CartTotals,
}

/// The cart totals, read as `ShopperActivity` reads them (they are few bytes).
#[derive(Default, serde::Deserialize)]
struct Totals(#[serde(deserialize_with = "object_or_empty")] CartTotals);

fn one_pass<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Cart, D::Error> {
    deserializer.deserialize_any(CartVisitor)
}

struct CartVisitor;

/// A cart's keys that are read; the others are skipped unread.
#[derive(Debug, serde::Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Items,
    Totals,
    ItemsCount,
    #[serde(other)]
    Other,
}

impl<'de> Visitor<'de> for CartVisitor {
    type Value = Cart;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Store API cart object, [] or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Cart, E> {
        Ok(Cart::default())
    }

    /// `[]` is PHP's empty array; a cart of any other list shape is not a cart.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Cart, A::Error> {
        match seq.next_element::<IgnoredAny>()? {
            None => Ok(Cart::default()),
            Some(_) => Err(de::Error::custom("a cart is an object, not a list")),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Cart, A::Error> {
        let mut items = None;
        let mut totals = None;
        let mut count = None;
        while let Some(field) = map.next_key::<Field>()? {
            let seen = match field {
                Field::Items => items.replace(map.next_value_seed(Items)?).is_some(),
                Field::Totals => totals.replace(map.next_value::<Totals>()?.0).is_some(),
                Field::ItemsCount => count.replace(map.next_value::<u64>()?).is_some(),
                Field::Other => map.next_value::<IgnoredAny>().map(|_| false)?,
            };
            if seen {
                return Err(de::Error::custom(format!("duplicate field {field:?}")));
            }
        }
        Ok(Cart {
            items: items.unwrap_or_default(),
            totals: totals.unwrap_or_default(),
        })
    }
}

/// The items: a list, `null`, or an object keyed "0", "1", … whose values come in key order.
struct Items;

impl<'de> DeserializeSeed<'de> for Items {
    type Value = Vec<CartItem>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Items {
    type Value = Vec<CartItem>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of cart items")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(items)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut keyed = BTreeMap::new();
        while let Some((key, item)) = map.next_entry::<String, CartItem>()? {
            keyed.insert(key, item);
        }
        Ok(keyed.into_values().collect())
    }
}

#[cfg(test)]
mod tests {
    use woo_domain::commerce::resources::ShopperActivity;

    use super::*;

    /// What the tags read of an event, by the narrow reader and by `ShopperActivity`: the two
    /// types have the same fields, each its own type.
    fn both(data: &str) -> (Result<String, String>, Result<String, String>) {
        macro_rules! summary {
            ($reader:ty) => {
                serde_json::from_str::<$reader>(data)
                    .map(|a| {
                        let keys = [
                            a.session_key.as_str(),
                            &a.cart_token,
                            &a.previous_session_key,
                            &a.checkout_url,
                        ];
                        format!(
                            "{} {keys:?} {:?} {:?}",
                            a.email, a.cart.items, a.cart.totals
                        )
                    })
                    .map_err(|e| e.to_string())
            };
        }
        (summary!(Activity), summary!(ShopperActivity))
    }

    #[test]
    fn a_real_store_api_cart_reads_as_the_whole_activity_reads_it() {
        let cart = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/woocommerce/store-api-cart.json"
        ))
        .unwrap();
        let data = format!(
            r#"{{"email": "Ada@Example.com", "customer_id": "7", "session_key": "t_1",
                "cart_token": 12, "checkout_url": "https://shop.example.com/checkout/", "cart": {cart}}}"#
        );
        let (narrow, whole) = both(&data);
        let narrow = narrow.unwrap();
        assert!(narrow.contains("Beanie with Logo"), "{narrow}");
        assert_eq!(Ok(narrow), whole);
    }

    #[test]
    fn every_lenient_cart_shape_reads_as_the_whole_activity_reads_it() {
        let item = |key: &str, name: &str| {
            format!(
                r#"{{"key": "{key}", "id": "11", "name": "{name}", "quantity": 1.5, "prices": {{"price": "1"}}}}"#
            )
        };
        let keyed = format!(
            r#"{{"items": {{"1": {}, "0": {}, "10": {}}}, "totals": {{"total_price": 990, "currency_code": "EUR", "currency_minor_unit": 2}}}}"#,
            item("b", "Cap"),
            item("a", r#"Be\"anie\u00e9"#),
            item("c", "Belt")
        );
        let listed = format!(
            r#"{{"coupons": [], "items": [{}], "items_count": 3, "totals": []}}"#,
            item("a", "Polo")
        );
        for cart in [
            "null",
            "[]",
            "{}",
            r#"{"items": null, "totals": null}"#,
            r#"{"items": {}, "totals": {}}"#,
            keyed.as_str(),
            listed.as_str(),
            r#""a cart""#,
            "[1]",
            r#"{"items": "none"}"#,
            r#"{"items": [], "items": []}"#,
            r#"{"items_count": -1}"#,
        ] {
            let (narrow, whole) = both(&format!(r#"{{"email": "a@b.c", "cart": {cart}}}"#));
            match (&narrow, &whole) {
                (Ok(_), Ok(_)) => assert_eq!(narrow, whole, "{cart}"),
                (Err(_), Err(_)) => {}
                _ => panic!("{cart}: {narrow:?} but {whole:?}"),
            }
        }
        let (narrow, _) = both(&format!(r#"{{"cart": {keyed}}}"#));
        let narrow = narrow.unwrap();
        let order = ["Be", "Cap", "Belt"].map(|n| narrow.find(n).unwrap());
        assert!(
            order.is_sorted(),
            "items keyed \"0\", \"1\", \"10\" in key order: {narrow}"
        );
    }
}
