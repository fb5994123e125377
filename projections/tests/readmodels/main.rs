//! The read-model tests: one binary. `properties` checks that delivery order, retries and batch
//! sizes never change the tables; `store_truth` checks the read models against what WooCommerce
//! shows the merchant, on real payloads from `fixtures/woocommerce`.

mod extremes;
mod properties;
mod quarantine;
mod statements;
mod store_truth;
mod support;
mod sync_runs;
