//! Black-box end-to-end suite of woo-ingest; the tests live in `api/`.
