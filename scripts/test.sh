#!/usr/bin/env bash
# All tests: unit tests, end-to-end tests (which build the guest components
# for wasm32-wasip2 themselves), doc tests.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2 >/dev/null
cargo test --release --workspace "$@"
