//! One test binary for the HTTP API: every module drives a freshly started application.

mod health;
mod helpers;
mod pairing;
