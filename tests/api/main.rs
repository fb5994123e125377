//! One test binary for the HTTP API: every module drives a freshly started application.

mod accounts;
mod health;
mod helpers;
mod hostile;
mod ingest;
mod lifecycle;
mod pairing;
mod tokens;
