//! One test binary for the HTTP API: every module drives a freshly started application.

mod accounts;
mod backpressure;
mod diagnostics;
mod fixtures;
mod health;
mod hostile;
mod hostile_campaign;
mod idempotency;
mod ingest;
mod ingest_hostile;
mod isolation;
mod lifecycle;
mod live;
mod merchant_pages;
mod metrics;
mod openapi;
mod pairing;
mod rebuild;
mod restore_links;
mod settings;
mod store_admin;
mod sync;
mod tags;
mod token_authority;
mod tokens;
mod webhooks;
