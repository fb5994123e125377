//! One test binary for the HTTP API: every module drives a freshly started application.

mod accounts;
mod fixtures;
mod health;
mod hostile;
mod hostile_campaign;
mod idempotency;
mod ingest;
mod ingest_hostile;
mod isolation;
mod lifecycle;
mod pairing;
mod rebuild;
mod settings;
mod sync;
mod tags;
mod tokens;
