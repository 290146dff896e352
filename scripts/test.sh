#!/usr/bin/env bash
# All tests: unit tests, end-to-end tests, doc tests. The guest components
# are built first, once (the tests would build them too, from inside the
# first test that needs one).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/tools.sh
scripts/guests.sh
cargo test --profile ci --locked --workspace "$@"
