#!/usr/bin/env bash
# Build the guests and hookhost, then run the benchmark (see docs/performance.md).
#   scripts/bench.sh           full run (about two minutes)
#   scripts/bench.sh --quick   a few events of each kind (smoke test)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
echo "== building (a first build takes about 10 minutes on a 2-core machine)"
scripts/guests.sh
cargo build --release -p hookhost-cli -p hookhost-bench
# The anchor: a Go net/http webhook doing the same check (Debian's
# golang-go, installed by scripts/tools.sh; the standard library only).
command -v go >/dev/null || scripts/tools.sh
GO111MODULE=off go build -o target/release/go-webhook bench/go-webhook/main.go
# The load tables keep a pool of keep-alive connections to each server they
# measure: more than the usual soft limit of 1024 open files.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# RUST_BACKTRACE would make every error value capture a backtrace.
env -u RUST_BACKTRACE HOOKHOST_LOG=error target/release/hookhost-bench \
  --guests target/guests/wasm32-wasip2/release --hookhost target/release/hookhost \
  --go-webhook target/release/go-webhook "$@"
