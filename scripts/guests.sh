#!/usr/bin/env bash
# Build every guest component for wasm32-wasip2 into target/guests: the
# guest workspace (examples/, with the test components of tests/fixtures/)
# and the `no_std` tests/fixtures/minimal-deny apart. The tests' support code
# (tests/src/guests.rs) runs the same builds, which are then no-ops.
#   scripts/guests.sh            build
#   scripts/guests.sh clippy     lint them instead (warnings denied)
set -euo pipefail
cd "$(dirname "$0")/.."

action="${1:-build}"
for workspace in examples tests/fixtures/minimal-deny; do
  case "$action" in
    build)
      CARGO_TARGET_DIR=target/guests cargo build --release --locked --target wasm32-wasip2 \
        --manifest-path "$workspace/Cargo.toml" ;;
    clippy)
      CARGO_TARGET_DIR=target/guests cargo clippy --release --locked --target wasm32-wasip2 \
        --manifest-path "$workspace/Cargo.toml" --workspace -- -D warnings ;;
    *) echo "usage: scripts/guests.sh [build|clippy]" >&2; exit 2 ;;
  esac
done
