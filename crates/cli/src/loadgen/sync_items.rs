//! Items of sync batches, as the plugin pages them out of WooCommerce: REST v3 products,
//! customers and orders, and the guest buyers it gathers from orders without an account. Written
//! from templates like the live events (see `payload`), numbered by a serial so that every batch
//! of a run carries other items.

use serde_json::{Value, json};
use woo_domain::integration::SyncResource;

use super::payload::{PRODUCTS, Rng, Template, VARIANTS};

/// The templates of one resource's items.
pub struct SyncItems {
    pub resource: SyncResource,
    templates: Vec<Template>,
}

impl SyncItems {
    pub fn new(resource: SyncResource) -> SyncItems {
        let make: fn(u64) -> Value = match resource {
            SyncResource::Products => product,
            SyncResource::Customers => customer,
            SyncResource::Guests => guest,
            SyncResource::Orders => order,
        };
        SyncItems {
            resource,
            templates: (0..VARIANTS).map(|v| Template::new(&make(v))).collect(),
        }
    }

    /// Appends `{"batch_id":…,"resource":…,"items":[…],"cursor":…}` with `count` items, the first
    /// numbered `serial`.
    pub fn body(
        &self,
        out: &mut Vec<u8>,
        batch_id: &str,
        count: usize,
        serial: u64,
        at: &str,
        rng: &mut Rng,
    ) {
        out.extend_from_slice(b"{\"batch_id\":\"");
        out.extend_from_slice(batch_id.as_bytes());
        out.extend_from_slice(b"\",\"resource\":\"");
        out.extend_from_slice(self.resource.as_str().as_bytes());
        out.extend_from_slice(b"\",\"items\":[");
        for n in 0..count {
            if n > 0 {
                out.push(b',');
            }
            let serial = serial + n as u64;
            let template = &self.templates[(rng.next() % self.templates.len() as u64) as usize];
            // Item `serial` is always the same shopper, so a sync's customers and orders agree.
            template.write(out, serial, serial, at);
        }
        out.extend_from_slice(format!("],\"cursor\":{}}}", serial + count as u64).as_bytes());
    }
}

const COUNTRIES: [&str; 4] = ["DE", "FR", "NL", "AT"];
const STATUSES: [&str; 4] = ["completed", "completed", "processing", "refunded"];

fn product(variant: u64) -> Value {
    let (name, sku, price) = PRODUCTS[variant as usize % 8];
    let price = format!("{}.{:02}", price / 100, price % 100);
    json!({"id": "@@SERIAL@@", "parent_id": 0, "name": name, "type": "simple", "status": "publish",
        "sku": format!("{sku}-@@SERIAL@@"), "price": price, "regular_price": price, "sale_price": "",
        "stock_status": if variant == 3 { "outofstock" } else { "instock" },
        "permalink": format!("https://shop.example.com/product/{}/", sku.to_lowercase()),
        "images": [{"id": 60 + variant, "src": format!("https://shop.example.com/wp-content/uploads/{}.jpg", sku.to_lowercase())}],
        "date_created_gmt": "2026-03-01T09:00:00", "date_modified_gmt": "2026-11-02T10:15:00"})
}

fn customer(variant: u64) -> Value {
    json!({"id": "@@SERIAL@@", "email": "customer@@SHOPPER@@@example.com", "first_name": "Ada",
        "last_name": "Lovelace", "role": "customer", "username": "customer@@SHOPPER@@",
        "billing": {"first_name": "Ada", "last_name": "Lovelace", "email": "customer@@SHOPPER@@@example.com",
            "country": COUNTRIES[variant as usize % 4], "city": "Berlin", "postcode": "10115"},
        "is_paying_customer": variant.is_multiple_of(2),
        "date_created_gmt": "2025-06-01T08:00:00", "date_modified_gmt": "2026-10-20T12:30:00"})
}

fn guest(variant: u64) -> Value {
    json!({"email": "guest@@SHOPPER@@@example.com", "first_name": "Grace", "last_name": "Hopper",
        "country": COUNTRIES[variant as usize % 4]})
}

fn order(variant: u64) -> Value {
    let (name, sku, price) = PRODUCTS[variant as usize % 8];
    let quantity = 1 + variant % 3;
    let total = format!("{}.{:02}", price * quantity / 100, price * quantity % 100);
    json!({"id": "@@SERIAL@@", "parent_id": 0, "number": "@@SERIAL@@",
        "status": STATUSES[variant as usize % 4],
        "currency": "EUR", "date_created_gmt": "2026-09-14T16:02:00", "date_modified_gmt": "2026-09-15T08:00:00",
        "total": total, "total_tax": "0.00", "customer_id": "@@SERIAL@@",
        "billing": {"first_name": "Ada", "last_name": "Lovelace", "email": "customer@@SHOPPER@@@example.com",
            "country": "DE", "city": "Berlin", "postcode": "10115"},
        "payment_method": "stripe", "payment_method_title": "Credit card", "created_via": "checkout",
        "line_items": [{"id": 1, "name": name, "product_id": 30 + variant % 8, "variation_id": 0,
            "quantity": quantity, "sku": sku, "subtotal": total, "total": total, "price": price / 100}],
        "refunds": []})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_json_pages_of_one_resource_with_fresh_items() {
        for resource in [
            SyncResource::Products,
            SyncResource::Customers,
            SyncResource::Guests,
            SyncResource::Orders,
        ] {
            let items = SyncItems::new(resource);
            let mut body = Vec::new();
            items.body(
                &mut body,
                "b-7",
                40,
                280,
                "2026-11-30T03:00:00Z",
                &mut Rng::new(3),
            );
            let body: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["batch_id"], "b-7");
            assert_eq!(body["resource"], resource.as_str());
            assert_eq!(body["cursor"], 320);
            let items = body["items"].as_array().unwrap();
            assert_eq!(items.len(), 40);
            let keys: std::collections::HashSet<String> = items
                .iter()
                .map(|i| {
                    i.get("id")
                        .map_or_else(|| i["email"].to_string(), Value::to_string)
                })
                .collect();
            assert_eq!(keys.len(), 40, "{resource:?}: every item is another one");
        }
    }
}
