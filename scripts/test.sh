#!/usr/bin/env bash
# All tests: unit tests, end-to-end tests (which build the guest components
# for wasm32-wasip2 themselves), doc tests.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/tools.sh
cargo test --release --workspace "$@"
