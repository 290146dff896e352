#!/usr/bin/env bash
# The main job: build everything and run the example host on the example
# events. Safe to rerun; the second run starts from the compile cache.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2 >/dev/null
echo "== building the example components (wasm32-wasip2)"
CARGO_TARGET_DIR=target/guests cargo build --quiet --release --target wasm32-wasip2 --manifest-path examples/Cargo.toml
echo "== building hookhost"
cargo build --quiet --release -p hookhost
hookhost=target/release/hookhost
config=examples/config/hookhost.json
mkdir -p target/demo/audit

echo "== hookhost check --config $config"
"$hookhost" check --config "$config"

for event in examples/events/*.json; do
  echo
  echo "== hookhost fire --event $event"
  set +e
  "$hookhost" fire --config "$config" --event "$event"
  echo "(exit status $?)"
  set -e
done

echo
echo "== audit lines written by the upload-audit hook (target/demo/audit/events.jsonl)"
cat target/demo/audit/events.jsonl
