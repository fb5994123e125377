//! Typed views of the WooCommerce resources the service reads: only the fields the read models
//! use, each read leniently. The events keep the whole resource as received; these views are
//! what projections (and validation at the edge) take out of it.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer as _, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use time::OffsetDateTime;

use super::lenient::{self, Money, WooId, gmt_date, list_or_empty, object_or_empty, text};

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct Address {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub first_name: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub last_name: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub email: String,
}

/// A refund as an order lists it: `total` is negative.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct OrderRefundLine {
    pub id: WooId,
    /// Older REST docs spell the key `refund`; WooCommerce's controller writes `reason`.
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(alias = "refund", deserialize_with = "text")]
    pub reason: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientMoney"))]
    #[serde(with = "lenient::money")]
    pub total: Option<Money>,
}

/// A product line of an order. `quantity` is text: plugins sell fractions (`1.5`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct LineItem {
    pub id: WooId,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub name: String,
    pub product_id: WooId,
    pub variation_id: WooId,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub sku: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub quantity: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientMoney"))]
    #[serde(with = "lenient::money")]
    pub subtotal: Option<Money>,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientMoney"))]
    #[serde(with = "lenient::money")]
    pub total: Option<Money>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct CouponLine {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub code: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientMoney"))]
    #[serde(with = "lenient::money")]
    pub discount: Option<Money>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct ShippingLine {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub method_title: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub method_id: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientMoney"))]
    #[serde(with = "lenient::money")]
    pub total: Option<Money>,
}

/// A REST v3 order (`/wc/v3/orders/<id>`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct Order {
    pub id: WooId,
    /// What the merchant calls the order (`"723"`, or a plugin's own numbering).
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub number: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub status: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub currency: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientMoney"))]
    #[serde(with = "lenient::money")]
    pub total: Option<Money>,
    /// `0` for a guest: nothing else tells a guest order reliably.
    pub customer_id: WooId,
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "crate::schema::ObjectOrEmpty<Address>")
    )]
    #[serde(deserialize_with = "object_or_empty")]
    pub billing: Address,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::GmtDate"))]
    #[serde(with = "gmt_date")]
    pub date_created_gmt: Option<OffsetDateTime>,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::GmtDate"))]
    #[serde(with = "gmt_date")]
    pub date_modified_gmt: Option<OffsetDateTime>,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::GmtDate"))]
    #[serde(with = "gmt_date")]
    pub date_paid_gmt: Option<OffsetDateTime>,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::GmtDate"))]
    #[serde(with = "gmt_date")]
    pub date_completed_gmt: Option<OffsetDateTime>,
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "crate::schema::ListOrEmpty<OrderRefundLine>")
    )]
    #[serde(deserialize_with = "list_or_empty")]
    pub refunds: Vec<OrderRefundLine>,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientMoney"))]
    #[serde(with = "lenient::money")]
    pub discount_total: Option<Money>,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientMoney"))]
    #[serde(with = "lenient::money")]
    pub shipping_total: Option<Money>,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub payment_method_title: String,
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "crate::schema::ListOrEmpty<LineItem>")
    )]
    #[serde(deserialize_with = "list_or_empty")]
    pub line_items: Vec<LineItem>,
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "crate::schema::ListOrEmpty<CouponLine>")
    )]
    #[serde(deserialize_with = "list_or_empty")]
    pub coupon_lines: Vec<CouponLine>,
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "crate::schema::ListOrEmpty<ShippingLine>")
    )]
    #[serde(deserialize_with = "list_or_empty")]
    pub shipping_lines: Vec<ShippingLine>,
}

impl Order {
    pub fn is_guest(&self) -> bool {
        self.customer_id == WooId(0)
    }

    /// Refunded so far: the refund lines' totals are negative, the answer is positive.
    pub fn refunded(&self) -> Money {
        let sum = self
            .refunds
            .iter()
            .filter_map(|r| r.total)
            .fold(Money::ZERO, |a, b| a + b);
        Money(-sum.0)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct Link {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub href: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct Links {
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "crate::schema::ListOrEmpty<Link>")
    )]
    #[serde(deserialize_with = "list_or_empty")]
    pub up: Vec<Link>,
}

impl Links {
    /// The id at the end of the `up` link (`…/orders/723` → 723; `…/products/22` → 22).
    pub fn parent_id(&self) -> Option<WooId> {
        let href = self.up.first()?.href.trim_end_matches('/');
        href.rsplit('/').next()?.parse().ok().map(WooId)
    }
}

/// A REST v3 refund (`/wc/v3/orders/<order>/refunds/<id>`): it names its order only in `_links.up`,
/// or in `order_id` when the plugin adds it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct Refund {
    pub id: WooId,
    pub order_id: WooId,
    /// Positive.
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientMoney"))]
    #[serde(with = "lenient::money")]
    pub amount: Option<Money>,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub reason: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::GmtDate"))]
    #[serde(with = "gmt_date")]
    pub date_created_gmt: Option<OffsetDateTime>,
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "crate::schema::ObjectOrEmpty<Links>")
    )]
    #[serde(rename = "_links", deserialize_with = "object_or_empty")]
    pub links: Links,
}

impl Refund {
    pub fn order(&self) -> Option<WooId> {
        if self.order_id != WooId(0) {
            return Some(self.order_id);
        }
        self.links.parent_id()
    }
}

/// A REST v3 customer (`/wc/v3/customers/<id>`): a WordPress user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct Customer {
    pub id: WooId,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub email: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub first_name: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub last_name: String,
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "crate::schema::ObjectOrEmpty<Address>")
    )]
    #[serde(deserialize_with = "object_or_empty")]
    pub billing: Address,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::GmtDate"))]
    #[serde(with = "gmt_date")]
    pub date_modified_gmt: Option<OffsetDateTime>,
}

/// What a deletion carries: `{"id": 794}`, the whole body of WooCommerce's `*.deleted` webhooks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct Deletion {
    pub id: WooId,
}

/// The id of a body that holds nothing but an id (`{"id": 727}`): such a body is a deletion,
/// whatever type it was sent as, never an update that blanks the record.
pub fn only_id(data: &RawValue) -> Option<WooId> {
    struct OnlyId;
    impl<'de> Visitor<'de> for OnlyId {
        type Value = WooId;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object holding only an id")
        }
        // Stops at the first key that is not `id`: a whole order is not read to learn that.
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WooId, A::Error> {
            if map.next_key::<String>()?.as_deref() != Some("id") {
                return Err(de::Error::custom("not only an id"));
            }
            let id: WooId = map.next_value()?;
            if map.next_key::<IgnoredAny>()?.is_some() {
                return Err(de::Error::custom("not only an id"));
            }
            Ok(id)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_str(data.get());
    deserializer
        .deserialize_map(OnlyId)
        .ok()
        .filter(|id| *id != WooId(0))
}

/// What an order says about its buyer and where it stands, for read models that need no more
/// (reading a whole order with its lines is the costly part of applying it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct OrderHead {
    pub id: WooId,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub status: String,
    pub customer_id: WooId,
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "crate::schema::ObjectOrEmpty<Address>")
    )]
    #[serde(deserialize_with = "object_or_empty")]
    pub billing: Address,
}

/// An order as counts and spend need it, read as [`Order`] reads those fields: its lines, coupons
/// and shipping are skipped unread (they are most of an order's bytes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct OrderSummary {
    pub id: WooId,
    #[serde(deserialize_with = "text")]
    pub status: String,
    #[serde(deserialize_with = "text")]
    pub currency: String,
    #[serde(with = "lenient::money")]
    pub total: Option<Money>,
    pub customer_id: WooId,
    #[serde(deserialize_with = "object_or_empty")]
    pub billing: Address,
    #[serde(with = "gmt_date")]
    pub date_created_gmt: Option<OffsetDateTime>,
    #[serde(with = "gmt_date")]
    pub date_modified_gmt: Option<OffsetDateTime>,
    #[serde(deserialize_with = "list_or_empty")]
    pub refunds: Vec<OrderRefundLine>,
}

/// What a cart or checkout event says about who the shopper is, read as [`ShopperActivity`]
/// reads those fields, with the cart skipped unread.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Shopper {
    #[serde(deserialize_with = "text")]
    pub email: String,
    pub customer_id: WooId,
    #[serde(deserialize_with = "text")]
    pub first_name: String,
    #[serde(deserialize_with = "text")]
    pub last_name: String,
}

/// A variation's attribute (`{"name": "Color", "option": "Black"}`); a product's attributes carry
/// `options` instead and read here with an empty `option`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct Attribute {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub option: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct Image {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub src: String,
}

/// A REST v3 product or variation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct Product {
    pub id: WooId,
    /// Set by the plugin for variations; otherwise read from `_links.up`.
    pub parent_id: WooId,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(rename = "type", deserialize_with = "text")]
    pub kind: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub status: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub sku: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub permalink: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientMoney"))]
    #[serde(with = "lenient::money")]
    pub price: Option<Money>,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientMoney"))]
    #[serde(with = "lenient::money")]
    pub regular_price: Option<Money>,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientMoney"))]
    #[serde(with = "lenient::money")]
    pub sale_price: Option<Money>,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub stock_status: String,
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "crate::schema::ListOrEmpty<Image>")
    )]
    #[serde(deserialize_with = "list_or_empty")]
    pub images: Vec<Image>,
    /// A variation has one image instead of a list.
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "crate::schema::ObjectOrEmpty<Image>")
    )]
    #[serde(deserialize_with = "object_or_empty")]
    pub image: Image,
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "crate::schema::ListOrEmpty<Attribute>")
    )]
    #[serde(deserialize_with = "list_or_empty")]
    pub attributes: Vec<Attribute>,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::GmtDate"))]
    #[serde(with = "gmt_date")]
    pub date_modified_gmt: Option<OffsetDateTime>,
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "crate::schema::ObjectOrEmpty<Links>")
    )]
    #[serde(rename = "_links", deserialize_with = "object_or_empty")]
    pub links: Links,
}

impl Product {
    /// The parent product of a variation, `None` for a top-level product.
    pub fn parent(&self) -> Option<WooId> {
        if self.parent_id != WooId(0) {
            return Some(self.parent_id);
        }
        // A variation's `up` link is its product; a product's `up` link, if any, is not a parent.
        self.links
            .up
            .first()
            .filter(|l| l.href.contains("/products/"))
            .and_then(|_| self.links.parent_id())
    }

    /// The name a merchant knows it by. WooCommerce leaves a variation's name empty (the variations
    /// endpoint has none) and shows its attributes instead: `Darkness: 99%, Flavor: nuts`.
    pub fn label(&self) -> String {
        if !self.name.trim().is_empty() {
            return self.name.clone();
        }
        self.attributes
            .iter()
            .filter(|a| !a.option.is_empty())
            .map(|a| format!("{}: {}", a.name, a.option))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The product type; a variation read from the variations endpoint has none and is one.
    pub fn kind(&self) -> &str {
        if self.kind.is_empty() && self.parent().is_some() {
            return "variation";
        }
        &self.kind
    }

    pub fn image_url(&self) -> Option<&str> {
        self.images
            .first()
            .map(|i| i.src.as_str())
            .or(Some(self.image.src.as_str()))
            .filter(|s| !s.is_empty())
    }
}

/// Store API money: an integer string in minor units with the currency beside it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct CartTotals {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub total_price: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub currency_code: String,
    #[serde(deserialize_with = "lenient::minor_unit")]
    pub currency_minor_unit: u32,
}

impl CartTotals {
    pub fn value(&self) -> Option<Money> {
        Money::from_minor(&self.total_price, self.currency_minor_unit)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct CartItem {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub key: String,
    pub id: WooId,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub quantity: String,
}

/// A Store API cart (`GET /wc/store/v1/cart`); every key is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct Cart {
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "crate::schema::ListOrEmpty<CartItem>")
    )]
    #[serde(deserialize_with = "list_or_empty")]
    pub items: Vec<CartItem>,
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "crate::schema::ObjectOrEmpty<CartTotals>")
    )]
    #[serde(deserialize_with = "object_or_empty")]
    pub totals: CartTotals,
    pub items_count: u64,
}

/// What a cart or checkout event carries besides the cart: who the shopper is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct ShopperActivity {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub email: String,
    pub customer_id: WooId,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub session_key: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub cart_token: String,
    /// The guest session key this session replaced when the shopper signed in (WooCommerce hands
    /// it to `woocommerce_guest_session_to_user_id`): the anonymous cart kept under it joins
    /// this shopper.
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub previous_session_key: String,
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "crate::schema::ObjectOrEmpty<Cart>")
    )]
    #[serde(deserialize_with = "object_or_empty")]
    pub cart: Cart,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub checkout_url: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub first_name: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub last_name: String,
}

/// A guest buyer from a sync: someone who ordered without an account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct GuestBuyer {
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub email: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub first_name: String,
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::LenientText"))]
    #[serde(deserialize_with = "text")]
    pub last_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/../../fixtures/woocommerce/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_guest_order_fixture_reads_as_a_guest_order() {
        let order: Order = serde_json::from_str(&fixture("order-guest.json")).unwrap();
        assert_eq!(
            (order.id, order.status.as_str(), order.currency.as_str()),
            (WooId(727), "processing", "USD")
        );
        assert_eq!(order.total.unwrap().to_string(), "29.35");
        assert!(order.is_guest());
        assert_eq!(order.billing.email, "john.doe@example.com");
        assert_eq!(
            order.date_modified_gmt,
            Some(time::macros::datetime!(2017-03-22 19:28:08 UTC))
        );
    }

    #[test]
    fn refunds_of_an_order_add_up_to_a_positive_amount() {
        let order: Order = serde_json::from_str(&fixture("order-registered.json")).unwrap();
        assert_eq!(order.refunded().to_string(), "19.00");
        assert!(!order.is_guest());
    }

    #[test]
    fn a_refund_names_its_order_through_its_up_link() {
        let refund: Refund = serde_json::from_str(&fixture("order-refund.json")).unwrap();
        assert_eq!((refund.id, refund.order()), (WooId(726), Some(WooId(723))));
        assert_eq!(refund.amount.unwrap().to_string(), "10.00");
    }

    #[test]
    fn a_variation_names_its_product_and_its_image() {
        let variation: Product = serde_json::from_str(&fixture("variation.json")).unwrap();
        assert_eq!(
            (variation.id, variation.parent()),
            (WooId(732), Some(WooId(22)))
        );
        let product: Product = serde_json::from_str(&fixture("product-simple.json")).unwrap();
        assert_eq!(
            (product.parent(), product.price.unwrap().to_string()),
            (None, "21.99".to_owned())
        );
        assert_eq!(
            product.sale_price, None,
            "an empty sale price is no sale price"
        );
        assert!(product.image_url().unwrap().starts_with("https://"));
    }

    #[test]
    fn a_variation_without_a_name_is_labelled_from_its_attributes() {
        let variation: Product =
            serde_json::from_str(&fixture("variation-two-attributes.json")).unwrap();
        assert_eq!(variation.name, "", "WooCommerce sends no name");
        assert_eq!(variation.label(), "Color: Black, Length: Short");
        assert_eq!(variation.kind(), "variation");
        assert_eq!(variation.parent(), Some(WooId(205)));
        let one: Product = serde_json::from_str(&fixture("variation.json")).unwrap();
        assert_eq!(
            (one.label(), one.kind()),
            ("Color: Black".to_owned(), "variation")
        );
        let product: Product = serde_json::from_str(&fixture("product-variable.json")).unwrap();
        assert_eq!(
            (product.label(), product.kind()),
            (product.name.clone(), "variable"),
            "a product keeps its own name and type"
        );
    }

    #[test]
    fn an_order_carries_what_the_merchant_reads_in_it() {
        let order: Order = serde_json::from_str(&fixture("order-with-coupon.json")).unwrap();
        assert_eq!(order.number, "963");
        let line = &order.line_items[0];
        assert_eq!(
            (line.name.as_str(), line.product_id, line.quantity.as_str()),
            ("Fruits Basket (Mix & Match Product)", WooId(52), "2")
        );
        assert_eq!(line.total.unwrap().to_string(), "30.00");
        assert!(
            order.line_items.iter().any(|l| l.quantity == "1.5"),
            "fractional quantities stay as written"
        );
        assert_eq!(order.coupon_lines[0].code, "30$off");
        assert_eq!(order.coupon_lines[0].discount.unwrap().to_string(), "30");
        assert_eq!(
            order.shipping_lines[0].method_title,
            "International Priority Mail Express Flat Rate"
        );
        let registered: Order = serde_json::from_str(&fixture("order-registered.json")).unwrap();
        assert_eq!(registered.refunds.len(), 2);
        assert_eq!(registered.refunds[0].id, WooId(726));
        let line: OrderRefundLine =
            serde_json::from_str(r#"{"id": 726, "reason": "Damaged", "total": "-10.00"}"#).unwrap();
        assert_eq!(line.reason, "Damaged");
    }

    #[test]
    fn a_body_with_only_an_id_is_a_deletion() {
        let raw = |json: &str| RawValue::from_string(json.to_owned()).unwrap();
        assert_eq!(
            only_id(&raw(&fixture("webhook-product-deleted.json"))),
            Some(WooId(794))
        );
        assert_eq!(only_id(&raw(r#"{"id": "727"}"#)), Some(WooId(727)));
        assert_eq!(only_id(&raw(&fixture("order-guest.json"))), None);
        assert_eq!(only_id(&raw(r#"{"id": 0}"#)), None);
        assert_eq!(only_id(&raw(r#"{"status": "trash"}"#)), None);
        assert_eq!(only_id(&raw("[727]")), None);
        assert_eq!(only_id(&raw(r#"{"id": 727, "status": "trash"}"#)), None);
        assert_eq!(only_id(&raw(r#"{"status": "trash", "id": 727}"#)), None);
    }

    #[test]
    fn the_store_api_cart_reads_its_items_and_value() {
        let cart: Cart = serde_json::from_str(&fixture("store-api-cart.json")).unwrap();
        assert_eq!(cart.items.len(), 2);
        assert_eq!(cart.totals.value().unwrap().to_string(), "82.56");
        assert_eq!(cart.totals.currency_code, "USD");
    }

    #[test]
    fn php_empty_objects_and_string_ids_are_accepted() {
        let order: Order = serde_json::from_str(
            r#"{"id": "12", "customer_id": "0", "billing": [], "refunds": null, "total": 5}"#,
        )
        .unwrap();
        assert_eq!(
            (order.id, order.is_guest(), order.billing.email.as_str()),
            (WooId(12), true, "")
        );
        assert_eq!(order.total.unwrap().to_string(), "5");
    }

    #[test]
    fn the_order_summary_reads_what_the_whole_order_reads() {
        for name in [
            "order-guest.json",
            "order-guest-completed.json",
            "order-modern-attribution.json",
            "order-refund-with-reason.json",
            "order-registered.json",
            "order-with-coupon.json",
            "webhook-order-created.json",
            "webhook-order-updated.json",
        ] {
            let text = fixture(name);
            let order: Order = serde_json::from_str(&text).unwrap();
            let summary: OrderSummary = serde_json::from_str(&text).unwrap();
            let whole = OrderSummary {
                id: order.id,
                status: order.status,
                currency: order.currency,
                total: order.total,
                customer_id: order.customer_id,
                billing: order.billing,
                date_created_gmt: order.date_created_gmt,
                date_modified_gmt: order.date_modified_gmt,
                refunds: order.refunds,
            };
            assert_eq!(summary, whole, "{name}");
        }
    }

    #[test]
    fn the_shopper_reads_what_the_shopper_activity_reads() {
        let cart = fixture("store-api-cart.json");
        for text in [
            format!(
                r#"{{"email": "Ada@Example.com", "customer_id": "7", "first_name": "Ada", "last_name": 3, "cart": {cart}}}"#
            ),
            format!(r#"{{"cart": {cart}, "email": null, "first_name": ["x"]}}"#),
            r#"{"email": "a@example.com", "cart": []}"#.to_owned(),
        ] {
            let activity: ShopperActivity = serde_json::from_str(&text).unwrap();
            let shopper: Shopper = serde_json::from_str(&text).unwrap();
            let whole = Shopper {
                email: activity.email,
                customer_id: activity.customer_id,
                first_name: activity.first_name,
                last_name: activity.last_name,
            };
            assert_eq!(shopper, whole, "{text}");
        }
    }
}
