//! The catalog of each store: products and variations with price, stock status, permalink and
//! image, as of their latest version. A variation without a name (the usual case) is labelled from
//! its attributes, as WooCommerce shows it; deleted products leave the catalog.

use rusqlite::{Connection, Row, params};
use serde::Serialize;
use woo_domain::commerce::resources::{Deletion, Product, only_id};
use woo_domain::commerce::{CommerceEventType, Subject};
use woo_domain::{CompanyId, IntegrationId};
use woo_eventlog::RecordedEvent;
use woo_projector::{BatchTx, Projection, ProjectionError};

use crate::decode::{integration, millis, read_data, read_head};
use crate::names::ReadModel;
use woo_domain::streams::Category;

pub struct Catalog;

impl Projection for Catalog {
    fn name(&self) -> &'static str {
        ReadModel::Catalog.name()
    }

    fn version(&self) -> u32 {
        2
    }

    fn schema(&self) -> &'static str {
        include_str!("schema.sql")
    }

    fn drop_schema(&self) -> &'static str {
        include_str!("drop.sql")
    }

    fn apply(&self, tx: &BatchTx<'_>, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        let Some(kind) = CommerceEventType::parse(&recorded.event_type) else {
            return Ok(());
        };
        if kind.subject() != Subject::Product {
            return Ok(());
        }
        let integration: IntegrationId = integration(recorded, Category::Store)?;
        let metadata = read_head(recorded)?;
        let Some(company) = metadata.company_id else {
            return Ok(());
        };
        let event = recorded.event_id.to_string();
        let deleted = if kind.is_deletion() {
            Some(read_data::<Deletion>(recorded)?.id)
        } else {
            only_id(&recorded.data)
        };
        if let Some(id) = deleted {
            tx.with(include_str!("delete.sql"), |s| {
                s.execute(params![
                    integration.to_string(),
                    id.0 as i64,
                    company.to_string(),
                    millis(metadata.occurred_at),
                    event,
                ])
            })?;
            return Ok(());
        }
        let product: Product = read_data(recorded)?;
        let money = |m: Option<woo_domain::commerce::lenient::Money>| m.map(|m| m.to_string());
        tx.with(include_str!("upsert.sql"), |s| {
            s.execute(params![
                integration.to_string(),
                product.id.0 as i64,
                company.to_string(),
                product.parent().map(|p| p.0 as i64),
                product.label(),
                product.kind(),
                product.status,
                product.sku,
                money(product.price),
                money(product.regular_price),
                money(product.sale_price),
                product.stock_status,
                product.permalink,
                product.image_url(),
                false,
                millis(product.date_modified_gmt.unwrap_or(metadata.occurred_at)),
                event,
            ])
        })?;
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogItem {
    pub integration_id: String,
    pub product_id: u64,
    pub parent_id: Option<u64>,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub sku: String,
    pub price: Option<String>,
    pub regular_price: Option<String>,
    pub sale_price: Option<String>,
    pub stock_status: String,
    pub permalink: String,
    pub image: Option<String>,
}

fn item(row: &Row<'_>) -> rusqlite::Result<CatalogItem> {
    let id = |v: i64| u64::try_from(v).unwrap_or_default();
    Ok(CatalogItem {
        integration_id: row.get(0)?,
        product_id: id(row.get(1)?),
        parent_id: row.get::<_, Option<i64>>(2)?.map(id),
        name: row.get(3)?,
        kind: row.get(4)?,
        status: row.get(5)?,
        sku: row.get(6)?,
        price: row.get(7)?,
        regular_price: row.get(8)?,
        sale_price: row.get(9)?,
        stock_status: row.get(10)?,
        permalink: row.get(11)?,
        image: row.get(12)?,
    })
}

/// A company's products and variations (not deleted), by store and product id, after the cursor
/// `(integration_id, product_id)`.
pub fn for_company(
    conn: &Connection,
    company: CompanyId,
    after: Option<(String, u64)>,
    limit: usize,
) -> rusqlite::Result<Vec<CatalogItem>> {
    let (after_store, after_product) = after.unwrap_or_default();
    let mut stmt = conn.prepare_cached(
        "SELECT integration_id, product_id, parent_id, name, kind, status, sku, price, regular_price, sale_price,
                stock_status, permalink, image
         FROM catalog WHERE company_id = ?1 AND deleted = 0 AND (integration_id, product_id) > (?2, ?3)
         ORDER BY integration_id, product_id LIMIT ?4",
    )?;
    stmt.query_map(
        params![
            company.to_string(),
            after_store,
            after_product as i64,
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        item,
    )?
    .collect()
}
