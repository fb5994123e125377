# Recipes for contributors: `just --list`. Install just with `cargo install just` if it is missing.

data_dir := env_var_or_default("WOO_INGEST_DATA_DIR", "./data")

# Run the service on the embedded default (SQLite in ./data)
run *args:
    cargo run -- serve {{args}}

# Run the whole test suite (what CI runs after fmt and clippy)
test *args:
    scripts/test {{args}}

# Formatting check and clippy with warnings denied
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Format the code
fmt:
    cargo fmt --all

# Everything CI runs
ci:
    bash .ci/run

# Benchmarks: durable appends, log scan, rebuild, projection lag (BENCH_SCALE=0.1 for a quick run)
bench:
    cargo bench -p woo-eventlog --bench eventlog
    cargo bench -p woo-projections --bench rebuild

# RSS under load and time back to serving after kill -9 (release build; needs curl, sqlite3, bc)
process-figures:
    cargo build --release --bins
    scripts/process-figures.sh

# Load a running service over HTTP, e.g. `just loadgen --server http://127.0.0.1:8080 --token T --mode bulk`
loadgen *args:
    cargo run --release -- loadgen {{args}}

# The kill -9 crash test alone, with its summary line
crash:
    cargo test -p woo-eventlog --test crash -- --nocapture

# Print a stream (or --all) as JSON lines, e.g. `just replay --all --limit 10`
replay *args:
    cargo run -- replay --data-dir {{data_dir}} {{args}}

# Rebuild read models from position 0 (all, or the one named)
rebuild *args:
    cargo run -- rebuild --data-dir {{data_dir}} {{args}}

# Run the projectors alone beside a running `serve`
project:
    cargo run -- project --data-dir {{data_dir}}

# Regenerate schemas/ (event, plugin-API and OpenAPI documents) from the Rust types
schemas:
    cargo run -p woo-schemas
