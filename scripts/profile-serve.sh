#!/usr/bin/env bash
# A CPU profile of `hookhost serve` under wrk (16 connections, every request
# a new pre-upload event): perf record on the release binary, a report by
# function and a flame graph (inferno) in target/profile/HOOK/.
#   scripts/profile-serve.sh [none|fresh|reused] [SECONDS]
# Needs perf (Debian's linux-perf) and wrk; installs inferno under
# target/tools. See docs/performance.md, "Where serve's CPU goes".
set -euo pipefail
cd "$(dirname "$0")/.."
hook="${1:-reused}"
seconds="${2:-8}"

scripts/setup.sh
command -v wrk >/dev/null || scripts/tools.sh
command -v perf >/dev/null || { echo "perf is missing: apt-get install linux-perf" >&2; exit 1; }
if [ ! -x target/tools/bin/inferno-flamegraph ]; then
  echo "== installing inferno (flame graphs) under target/tools"
  cargo install --quiet --locked inferno --version 0.12.8 --root target/tools
fi
scripts/guests.sh
cargo build --release -p hookhost-cli -p hookhost-bench
PATH="$PWD/target/tools/bin:$PATH" env -u RUST_BACKTRACE HOOKHOST_LOG=error \
  target/release/hookhost-bench --profile-serve "$hook" --seconds "$seconds" \
  --guests target/guests/wasm32-wasip2/release --hookhost target/release/hookhost \
  --out "target/profile/$hook"
