#!/usr/bin/env bash
# Build the guests and hookhost, then run the benchmark (see docs/performance.md).
#   scripts/bench.sh                  full run (about three minutes)
#   scripts/bench.sh --quick          a few events of each kind (smoke test)
#   scripts/bench.sh --load-only      only the latency tables
#   scripts/bench.sh --compare REV [ARGS...]
#       the regression guard: build REV (a commit, tag or branch) in a git
#       worktree, run its benchmark and this tree's with the same ARGS, one
#       after the other, and print this tree's tables with each figure
#       beside REV's. Both runs use this tree's guests and Go anchors, so
#       only the host differs. When REV's benchmark has no wrk table, this
#       tree's runs REV's `hookhost` binary (the process serve rows). Saved
#       under target/compare/.
#   scripts/bench.sh --wrk-only       only the wrk table (serve vs the Go webhook)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/setup.sh
# Go, go-plugin and x/crypto for the anchors (the Go webhook; the native
# Go plugin and go-plugin's client, which the benchmark builds itself).
scripts/tools.sh
echo "== building (a first build takes about 10 minutes on a 2-core machine)"
scripts/guests.sh

compare=""
if [ "${1:-}" = "--compare" ]; then
  [ -n "${2:-}" ] || { echo "usage: scripts/bench.sh --compare REV [ARGS...]" >&2; exit 2; }
  compare=$(git rev-parse --verify --quiet "$2^{commit}") || { echo "--compare: $2 is not a revision here" >&2; exit 2; }
  shift 2
  old="$root/target/compare/${compare:0:10}"
  if [ ! -x "$old/hookhost-bench" ]; then
    # The worktree stays: REV's benchmark finds its fixtures through it.
    tree="$old/src"
    git worktree remove --force "$tree" 2>/dev/null || rm -rf "$tree"
    git worktree add --detach --quiet "$tree" "$compare"
    # The same target directory: the dependencies (same lock file, same
    # profile) are built once; only REV's own crates compile again. The
    # binaries land in target/release, so they are copied out before this
    # tree's build puts its own there.
    echo "== building $compare in a worktree"
    (cd "$tree" && CARGO_TARGET_DIR="$root/target" cargo build --release --locked --workspace --bins)
    mkdir -p "$old"
    cp target/release/hookhost target/release/hookhost-bench "$old/"
  fi
fi

cargo build --release -p hookhost-cli -p hookhost-bench
# The anchor: a Go net/http webhook doing the same check (Debian's
# golang-go; the standard library only).
GO111MODULE=off GOCACHE="$root/target/gocache" go build -o target/release/go-webhook bench/go-webhook/main.go
# The load tables keep a pool of keep-alive connections to each server they
# measure: more than the usual soft limit of 1024 open files.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

run() { # BIN_DIR ARGS...: one benchmark run
  local bin=$1
  shift
  local go=()
  # (A benchmark older than the Go webhook row has no such option.)
  if "$bin/hookhost-bench" --help | grep -q -- --go-webhook; then
    go=(--go-webhook target/release/go-webhook)
  fi
  # RUST_BACKTRACE would make every error value capture a backtrace.
  env -u RUST_BACKTRACE HOOKHOST_LOG=error "$bin/hookhost-bench" \
    --guests "$root/target/guests/wasm32-wasip2/release" --hookhost "$bin/hookhost" "${go[@]}" "$@"
}

if [ -z "$compare" ]; then
  run target/release "$@"
  exit
fi
name=${compare:0:10}
echo "== $name"
run "$old" "$@" | tee "target/compare/$name.txt"
if ! grep -q "^| wrk, " "target/compare/$name.txt"; then
  # REV's benchmark predates the wrk table: this tree's, with REV's binary.
  echo "== $name's hookhost binary in this tree's wrk table"
  env -u RUST_BACKTRACE HOOKHOST_LOG=error target/release/hookhost-bench --wrk-only \
    --guests "$root/target/guests/wasm32-wasip2/release" --hookhost "$old/hookhost" \
    --go-webhook target/release/go-webhook "$@" | tee -a "target/compare/$name.txt"
fi
echo "== this tree"
run target/release "$@" | tee target/compare/this-tree.txt
echo "== side by side"
target/release/hookhost-bench --side-by-side "target/compare/$name.txt" target/compare/this-tree.txt
