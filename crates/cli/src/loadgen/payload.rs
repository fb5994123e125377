//! Request bodies for the load generator, serialised once and stamped per request: each event is a
//! template of literal JSON bytes with slots for its fresh UUIDv7 id, its time, its shopper and its
//! serial number. Serialising a ~700-byte event with serde costs microseconds; at 100,000 events/s
//! on the two cores the service also needs, that would make the load generator the bottleneck.
//! The shapes follow `fixtures/woocommerce/`: Store API carts for cart and checkout events, REST v3
//! orders and products.

use std::fmt::Write as _;

use serde_json::{Value, json};
use uuid::Uuid;

/// Shares of the event kinds, e.g. `cart=60,checkout=15,order=15,product=10`.
#[derive(Clone, Debug, PartialEq)]
pub struct Mix {
    pub cart: u32,
    pub checkout: u32,
    pub order: u32,
    pub product: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            cart: 60,
            checkout: 15,
            order: 15,
            product: 10,
        }
    }
}

impl Mix {
    /// Parses `KIND=SHARE,…`; kinds left out get no share.
    pub fn parse(text: &str) -> Result<Mix, String> {
        let mut mix = Mix {
            cart: 0,
            checkout: 0,
            order: 0,
            product: 0,
        };
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (kind, share) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not KIND=SHARE, e.g. cart=60"))?;
            let share: u32 = share
                .trim()
                .parse()
                .map_err(|_| format!("the share of {kind:?} is not a whole number: {share:?}"))?;
            let slot = match kind.trim() {
                "cart" => &mut mix.cart,
                "checkout" => &mut mix.checkout,
                "order" => &mut mix.order,
                "product" => &mut mix.product,
                other => {
                    return Err(format!(
                        "unknown kind {other:?}; the kinds are cart, checkout, order, product"
                    ));
                }
            };
            *slot = share;
        }
        if mix.cart + mix.checkout + mix.order + mix.product == 0 {
            return Err("every share is 0; give at least one kind a share".into());
        }
        Ok(mix)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    EventId,
    OccurredAt,
    Shopper,
    Serial,
    Product,
}

const MARKERS: [(&str, Slot); 5] = [
    ("@@ID@@", Slot::EventId),
    ("@@AT@@", Slot::OccurredAt),
    ("@@SHOPPER@@", Slot::Shopper),
    ("@@SERIAL@@", Slot::Serial),
    ("@@PRODUCT@@", Slot::Product),
];

/// One event as literal bytes around its slots: `literals.len() == slots.len() + 1`.
#[derive(Debug)]
pub(super) struct Template {
    literals: Vec<Vec<u8>>,
    slots: Vec<Slot>,
}

impl Template {
    /// Numbers are written as the strings `"@@SERIAL@@"` into the JSON value; their quotes go here.
    pub(super) fn new(event: &Value) -> Template {
        let mut text = event.to_string();
        for (marker, slot) in MARKERS {
            if slot != Slot::EventId && slot != Slot::OccurredAt {
                text = text.replace(&format!("\"{marker}\""), marker);
            }
        }
        let (mut literals, mut slots) = (Vec::new(), Vec::new());
        let mut rest = text.as_str();
        while let Some((at, marker, slot)) = MARKERS
            .iter()
            .filter_map(|(m, s)| rest.find(m).map(|at| (at, *m, *s)))
            .min_by_key(|(at, _, _)| *at)
        {
            literals.push(rest.as_bytes()[..at].to_vec());
            slots.push(slot);
            rest = &rest[at + marker.len()..];
        }
        literals.push(rest.as_bytes().to_vec());
        Template { literals, slots }
    }
}

/// A small fast generator (xorshift64*): which template and which shopper each event gets.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Every template of a run, with the cumulative weights that pick among them.
pub struct Payloads {
    templates: Vec<Template>,
    /// `(cumulative weight, template index)`, ascending.
    weights: Vec<(u64, usize)>,
    shoppers: u64,
}

/// Makes the template of one variant of an event kind.
type EventOf = fn(u64) -> Value;

const CATALOG: u64 = 500;
pub(super) const VARIANTS: u64 = 8;

impl Payloads {
    pub fn new(mix: &Mix, shoppers: u64) -> Payloads {
        let mut templates = Vec::new();
        let mut weights = Vec::new();
        let mut total = 0u64;
        let kinds: [(u32, EventOf); 4] = [
            (mix.cart, cart_event),
            (mix.checkout, checkout_event),
            (mix.order, order_event),
            (mix.product, product_event),
        ];
        for (share, make) in kinds {
            for variant in 0..VARIANTS {
                if share == 0 {
                    continue;
                }
                total += u64::from(share);
                weights.push((total, templates.len()));
                templates.push(Template::new(&make(variant)));
            }
        }
        Payloads {
            templates,
            weights,
            shoppers: shoppers.max(1),
        }
    }

    /// Appends `{"events":[…]}` with `count` events to `out`; `serial` numbers the first.
    pub fn body(&self, out: &mut Vec<u8>, count: usize, serial: u64, at: &str, rng: &mut Rng) {
        let total = self.weights.last().map_or(1, |(w, _)| *w);
        out.extend_from_slice(b"{\"events\":[");
        for n in 0..count {
            if n > 0 {
                out.push(b',');
            }
            let pick = rng.next() % total;
            let index = self.weights[self.weights.partition_point(|(w, _)| *w <= pick)].1;
            let shopper = rng.next() % self.shoppers;
            self.write_event(out, index, shopper, serial + n as u64, at);
        }
        out.extend_from_slice(b"]}");
    }

    fn write_event(&self, out: &mut Vec<u8>, index: usize, shopper: u64, serial: u64, at: &str) {
        self.templates[index].write(out, shopper, serial, at);
    }
}

impl Template {
    /// Appends the template with its slots filled.
    pub(super) fn write(&self, out: &mut Vec<u8>, shopper: u64, serial: u64, at: &str) {
        let mut number = String::with_capacity(20);
        for (literal, slot) in self.literals.iter().zip(&self.slots) {
            out.extend_from_slice(literal);
            match slot {
                Slot::EventId => {
                    let mut id = Uuid::encode_buffer();
                    let id = Uuid::now_v7().hyphenated().encode_lower(&mut id);
                    out.extend_from_slice(id.as_bytes());
                }
                Slot::OccurredAt => out.extend_from_slice(at.as_bytes()),
                Slot::Shopper => write_number(out, &mut number, shopper),
                Slot::Serial => write_number(out, &mut number, 100_000 + serial),
                Slot::Product => write_number(out, &mut number, 1000 + shopper % CATALOG),
            }
        }
        if let Some(last) = self.literals.last() {
            out.extend_from_slice(last);
        }
    }
}

fn write_number(out: &mut Vec<u8>, scratch: &mut String, n: u64) {
    scratch.clear();
    let _ = write!(scratch, "{n}");
    out.extend_from_slice(scratch.as_bytes());
}

fn envelope(event_type: &str, data: Value) -> Value {
    json!({"event_id": "@@ID@@", "type": event_type, "occurred_at": "@@AT@@", "data": data})
}

pub(super) const PRODUCTS: [(&str, &str, u64); 8] = [
    ("Beanie with Logo", "Woo-beanie-logo", 1800),
    ("Belt", "woo-belt", 5500),
    ("Cap", "woo-cap", 1600),
    ("Hoodie with Zipper", "woo-hoodie-with-zipper", 4500),
    ("Long Sleeve Tee", "woo-long-sleeve-tee", 2500),
    ("Polo", "woo-polo", 2000),
    ("Sunglasses", "woo-sunglasses", 9000),
    ("T-Shirt with Logo", "Woo-tshirt-logo", 1800),
];

/// A Store API cart (`/wc/store/v1/cart`) with `items` lines, trimmed to the fields a plugin sends.
fn store_api_cart(variant: u64, items: u64) -> Value {
    let lines: Vec<(usize, u64)> = (0..items)
        .map(|i| (((variant + i * 3) % 8) as usize, 1 + (variant + i) % 2))
        .collect();
    let total: u64 = lines
        .iter()
        .map(|(p, quantity)| PRODUCTS[*p].2 * quantity)
        .sum();
    let items: Vec<Value> = lines
        .iter()
        .map(|(p, quantity)| {
            let (name, sku, price) = PRODUCTS[*p];
            json!({"key": format!("{:032x}", (variant << 8) | *p as u64), "id": 30 + *p as u64, "quantity": quantity,
                "name": name, "sku": sku,
                "permalink": format!("https://shop.example.com/product/{}/", sku.to_lowercase()),
                "prices": {"price": price.to_string(), "regular_price": price.to_string(), "sale_price": price.to_string(),
                    "currency_code": "EUR", "currency_minor_unit": 2},
                "totals": {"line_subtotal": (price * quantity).to_string(), "line_total": (price * quantity).to_string(),
                    "currency_code": "EUR", "currency_minor_unit": 2}})
        })
        .collect();
    json!({"items": items, "items_count": lines.iter().map(|(_, q)| q).sum::<u64>(),
        "totals": {"total_items": total.to_string(), "total_items_tax": "0", "total_shipping": "0",
            "total_price": total.to_string(), "total_tax": "0", "currency_code": "EUR", "currency_minor_unit": 2}})
}

fn shopper_fields(variant: u64) -> Value {
    json!({"email": "shopper@@SHOPPER@@@example.com", "customer_id": if variant.is_multiple_of(2) { json!("@@SHOPPER@@") } else { json!(0) },
        "session_key": "t_@@SHOPPER@@", "cart_token": "cart-@@SHOPPER@@",
        "first_name": "Ada", "last_name": "Lovelace",
        "checkout_url": "https://shop.example.com/checkout/"})
}

fn cart_event(variant: u64) -> Value {
    let mut data = shopper_fields(variant);
    data["cart"] = store_api_cart(variant, 1 + variant % 3);
    let event_type = if variant < VARIANTS / 2 {
        "ecommerce.cart_started"
    } else {
        "ecommerce.cart_updated"
    };
    envelope(event_type, data)
}

fn checkout_event(variant: u64) -> Value {
    let mut data = shopper_fields(variant);
    data["cart"] = store_api_cart(variant, 2);
    envelope("ecommerce.checkout_started", data)
}

/// A REST v3 order (`/wc/v3/orders/<id>`) of the shopper, numbered by the event's serial.
fn order_event(variant: u64) -> Value {
    let (name, sku, price) = PRODUCTS[variant as usize % 8];
    let quantity = 1 + variant % 3;
    let total = format!("{}.{:02}", price * quantity / 100, price * quantity % 100);
    envelope(
        "ecommerce.order_placed",
        json!({"id": "@@SERIAL@@", "parent_id": 0, "number": "@@SERIAL@@", "status": "processing", "currency": "EUR",
            "date_created_gmt": "@@AT@@", "date_modified_gmt": "@@AT@@", "total": total, "total_tax": "0.00",
            "customer_id": if variant.is_multiple_of(2) { json!("@@SHOPPER@@") } else { json!(0) },
            "billing": {"first_name": "Ada", "last_name": "Lovelace", "email": "shopper@@SHOPPER@@@example.com",
                "country": "DE", "city": "Berlin", "postcode": "10115"},
            "payment_method": "stripe", "payment_method_title": "Credit card", "created_via": "checkout",
            "line_items": [{"id": 1, "name": name, "product_id": 30 + variant % 8, "variation_id": 0, "quantity": quantity,
                "sku": sku, "subtotal": total, "total": total, "price": price / 100}],
            "refunds": []}),
    )
}

/// A REST v3 product (`/wc/v3/products/<id>`), its id one of a catalogue of 500.
fn product_event(variant: u64) -> Value {
    let (name, sku, price) = PRODUCTS[variant as usize % 8];
    let price = format!("{}.{:02}", price / 100, price % 100);
    envelope(
        "ecommerce.product_updated",
        json!({"id": "@@PRODUCT@@", "parent_id": 0, "name": name, "type": "simple", "status": "publish",
            "sku": format!("{sku}-@@PRODUCT@@"), "price": price, "regular_price": price, "sale_price": "",
            "stock_status": if variant == 3 { "outofstock" } else { "instock" },
            "permalink": format!("https://shop.example.com/product/{}/", sku.to_lowercase()),
            "images": [{"id": 60 + variant, "src": format!("https://shop.example.com/wp-content/uploads/{}.jpg", sku.to_lowercase())}],
            "date_modified_gmt": "@@AT@@"}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_json_with_fresh_ids_and_the_shapes_of_the_fixtures() {
        let payloads = Payloads::new(&Mix::default(), 1000);
        let mut rng = Rng::new(7);
        let mut body = Vec::new();
        payloads.body(&mut body, 400, 1, "2026-11-30T03:00:00Z", &mut rng);
        let body: Value = serde_json::from_slice(&body).unwrap();
        let events = body["events"].as_array().unwrap();
        assert_eq!(events.len(), 400);
        let ids: std::collections::HashSet<&str> = events
            .iter()
            .map(|e| e["event_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 400, "every event has its own id");
        assert!(
            ids.iter()
                .all(|id| Uuid::parse_str(id).unwrap().get_version_num() == 7)
        );
        let order = events
            .iter()
            .find(|e| e["type"] == "ecommerce.order_placed")
            .unwrap();
        assert!(order["data"]["id"].as_u64().unwrap() > 100_000);
        assert!(
            order["data"]["billing"]["email"]
                .as_str()
                .unwrap()
                .starts_with("shopper")
        );
        let cart = events
            .iter()
            .find(|e| e["type"] == "ecommerce.cart_started")
            .unwrap();
        assert!(cart["data"]["cart"]["items"][0]["prices"]["price"].is_string());
        assert_eq!(cart["occurred_at"], "2026-11-30T03:00:00Z");
        let shoppers: std::collections::HashSet<&str> = events
            .iter()
            .filter_map(|e| e["data"]["email"].as_str())
            .collect();
        assert!(shoppers.len() > 100, "emails spread over many shoppers");
    }

    #[test]
    fn the_mix_decides_the_kinds() {
        let payloads = Payloads::new(&Mix::parse("product=1").unwrap(), 10);
        let mut body = Vec::new();
        payloads.body(&mut body, 50, 0, "2026-11-30T03:00:00Z", &mut Rng::new(1));
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert!(
            body["events"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["type"] == "ecommerce.product_updated"
                    && e["data"]["id"].as_u64().unwrap() >= 1000)
        );
    }

    #[test]
    fn mixes_parse_or_say_what_is_expected() {
        assert_eq!(
            Mix::parse("cart=60,checkout=15,order=15,product=10").unwrap(),
            Mix::default()
        );
        assert!(
            Mix::parse("carts=1")
                .unwrap_err()
                .contains("cart, checkout")
        );
        assert!(Mix::parse("cart=x").unwrap_err().contains("whole number"));
        assert!(
            Mix::parse("cart=0")
                .unwrap_err()
                .contains("every share is 0")
        );
    }
}
