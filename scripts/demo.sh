#!/usr/bin/env bash
# The main job: build everything and run the example host on the example
# events. Safe to rerun; the second run starts from the compile cache.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
echo "== building the example components (wasm32-wasip2)"
CARGO_TARGET_DIR=target/guests cargo build --quiet --release --target wasm32-wasip2 --manifest-path examples/Cargo.toml
echo "== building hookhost"
cargo build --quiet --release -p hookhost
hookhost=target/release/hookhost
config=examples/config/hookhost.json
rm -rf target/demo  # each run shows only what it did
mkdir -p target/demo/audit target/demo/events

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
tail -n 3 target/demo/audit/events.jsonl
echo "== events the notifier-jsonl plugin recorded (target/demo/events/fs.jsonl)"
tail -n 3 target/demo/events/fs.jsonl

echo
echo "== hookhost plugin: what SFTPGo launches as one of its plugins (README: Plugins in SFTPGo)"
echo "   run by hand, without SFTPGo's handshake, it says so and exits 1:"
set +e
"$hookhost" plugin --config "$config" target/guests/wasm32-wasip2/release/notifier_jsonl.wasm
echo "(exit status $?)"
set -e

if ! command -v curl >/dev/null; then
  echo "(curl not found: skipping the hookhost serve part)"
  exit 0
fi
echo
echo "== hookhost serve: the endpoint SFTPGo calls"
"$hookhost" serve --config "$config" --listen 127.0.0.1:0 > target/demo/serve.out 2> target/demo/serve.log &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 1 100); do grep -q listening target/demo/serve.out && break; sleep 0.1; done
url=$(sed 's/.* on //' target/demo/serve.out)
echo "listening on $url"
post() { curl -s -w '  (HTTP %{http_code})\n' -H 'content-type: application/json' --data-binary "@$1" "$url/v1/actions/fs"; }
echo "-- POST /v1/actions/fs pre-upload setup.exe:"; post examples/events/pre-upload-exe.json
echo "-- POST /v1/actions/fs pre-upload report.txt:"; post examples/events/pre-upload-txt.json
echo "-- GET /v1/post-connect from 10.1.2.3 and from 203.0.113.9:"
curl -s -w '  (HTTP %{http_code})\n' "$url/v1/post-connect?ip=10.1.2.3&protocol=SSH"
curl -s -w '  (HTTP %{http_code})\n' "$url/v1/post-connect?ip=203.0.113.9&protocol=SSH"
echo "-- GET /metrics (hook calls):"
curl -s "$url/metrics" | grep -E '^hookhost_hook_calls_total.* [1-9]'
kill -TERM $server; wait $server || true
trap - EXIT
echo "(server stopped cleanly; its log is in target/demo/serve.log)"
