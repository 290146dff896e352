#!/usr/bin/env bash
# The main job: build everything and run the example host on the example
# events. Safe to rerun; the second run starts from the compile cache.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
echo "== building: the first build takes about 10 minutes on a 2-core machine"
echo "   (wasmtime is large); later runs take seconds. cargo's progress follows."
echo "== building the example components (wasm32-wasip2)"
CARGO_TARGET_DIR=target/guests cargo build --release --target wasm32-wasip2 --manifest-path examples/Cargo.toml
echo "== building hookhost"
cargo build --release -p hookhost-cli
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
echo "-- POST /v1/pre-login: alice is in the engineering group (created just in time), mallory in none:"
curl -s -w '  (HTTP %{http_code})\n' -H 'content-type: application/json' \
  --data '{"id":0,"username":"alice"}' "$url/v1/pre-login?login_method=password&ip=10.1.2.3&protocol=SSH"
curl -s -w '  (HTTP %{http_code})\n' -H 'content-type: application/json' \
  --data '{"id":0,"username":"mallory"}' "$url/v1/pre-login?login_method=password&ip=10.1.2.3&protocol=SSH"
echo "-- POST /v1/auth/keyboard-interactive: three rounds of one login (password checked by SFTPGo, a wrong code, the right one):"
kbd() { curl -s -w '  (HTTP %{http_code})\n' -H 'content-type: application/json' --data "$1" "$url/v1/auth/keyboard-interactive"; }
kbd '{"request_id":"demo","step":1,"username":"alice","ip":"10.1.2.3"}'
kbd '{"request_id":"demo","step":2,"username":"alice","questions":["Password: "],"answers":["OK"]}'
kbd '{"request_id":"demo","step":3,"username":"alice","questions":["One-time code: "],"answers":["000000"]}'
kbd '{"request_id":"demo","step":4,"username":"alice","questions":["One-time code: "],"answers":["482913"]}'
echo "-- POST /v1/post-login and GET /v1/post-disconnect (queued for the login-audit hook):"
curl -s -w '  (HTTP %{http_code})\n' -H 'content-type: application/json' \
  --data '{"id":1,"username":"alice"}' "$url/v1/post-login?login_method=keyboard-interactive&ip=10.1.2.3&protocol=SSH&status=1"
curl -s -w '  (HTTP %{http_code})\n' "$url/v1/post-disconnect?ip=10.1.2.3&protocol=SFTP&username=alice&connection_duration=4200"
echo "-- GET /metrics (hook calls):"
curl -s "$url/metrics" | grep -E '^hookhost_hook_calls_total.* [1-9]'
kill -TERM $server; wait $server || true
trap - EXIT
echo "(server stopped cleanly; its log is in target/demo/serve.log)"
echo "== login audit lines (target/demo/audit/logins.jsonl)"
cat target/demo/audit/logins.jsonl

echo
echo "== hookhost exec as SFTPGo's pre_login_hook program (SFTPGO_LOGIND_* variables, answer on stdout):"
env -i SFTPGO_LOGIND_USER='{"id":0,"username":"bob"}' SFTPGO_LOGIND_METHOD=publickey \
  SFTPGO_LOGIND_IP=10.1.2.3 SFTPGO_LOGIND_PROTOCOL=SSH "$hookhost" exec --config "$config"
echo "  (exit status $?)"
