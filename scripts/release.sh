#!/usr/bin/env bash
# The host itself, shipped: a static x86_64-unknown-linux-musl `hookhost`
# (no glibc needed: Alpine, distroless and scratch images run it) and its
# sha256 file, under target/release-static/. Then the binary is tried as
# it will be used: under `env -i` (nothing from this machine's
# environment), checked static, through the demo's configuration and
# events. Installs the musl target and musl-gcc when missing.
#   scripts/release.sh
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-musl
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
if ! command -v musl-gcc >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools >/dev/null
fi
echo "== building the example components (the demo's events run through them)"
CARGO_TARGET_DIR=target/guests cargo build --release --locked --target wasm32-wasip2 \
  --manifest-path examples/Cargo.toml
echo "== building hookhost for $target (a release build: about 10 minutes on 2 cores)"
CC_x86_64_unknown_linux_musl=musl-gcc \
  cargo build --release --locked --target "$target" -p hookhost-cli
version=$(target/$target/release/hookhost --version | awk '{print $2}')
out=target/release-static
name="hookhost-$version-$target"
mkdir -p "$out"
cp "target/$target/release/hookhost" "$out/$name"
(cd "$out" && sha256sum "$name" > "$name.sha256")
binary="$PWD/$out/$name"

echo "== checking $out/$name"
if ldd "$binary" >/dev/null 2>&1 && ! ldd "$binary" 2>&1 | grep -q "statically linked"; then
  echo "not static:" >&2
  ldd "$binary" >&2
  exit 1
fi
env -i "$binary" --version
config=examples/config/hookhost.json
mkdir -p target/demo/audit target/demo/events
env -i "$binary" check --config "$config"
# The demo's events, each with the exit status it must have.
expect() {
  local want=$1 event=$2 got=0
  env -i "$binary" fire --config "$config" --event "$event" >/dev/null 2>&1 || got=$?
  if [ "$got" != "$want" ]; then
    echo "fire --event $event: exit $got, expected $want" >&2
    exit 1
  fi
  echo "fire --event $event: exit $got as expected"
}
expect 1 examples/events/pre-upload-exe.json
expect 0 examples/events/pre-upload-txt.json
expect 0 examples/events/upload.json
(cd "$out" && sha256sum -c "$name.sha256")
echo "== $out/$name and $name.sha256"
