#!/usr/bin/env bash
# The tools some tests need besides Rust, installed when missing:
# - Debian's Go, go-plugin, gRPC and protoc packages: the `hookhost plugin`
#   tests build a go-plugin host with them (tests/src/goplugin.rs), and the
#   benchmark (its quick test too) a native Go plugin, bcrypt from
#   golang.org/x/crypto included (bench/go-plugin);
# - wrk: the benchmark's table of serve against the Go webhook (its quick
#   test too);
# - componentize-py: the Python hook tests build components with it;
# - grpcio: a grpc-core client (Python) calls `hookhost plugin` in a test;
# - Node.js and componentize-js (under target/js): the JavaScript hook
#   tests build components with it;
# - nats-server: the fleet test runs two `serve` nodes on a JetStream queue;
# - the wasmsign2 CLI (under target/tools): the signature tests;
# - docker-registry, skopeo and Python's oras: the registry tests (an OCI
#   registry on loopback, and two clients that are not hookhost).
# A test whose tool is missing fails (set HOOKHOST_ALLOW_MISSING_TOOLS=1 to
# skip those tests instead, never under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."

packages="golang-go golang-github-hashicorp-go-plugin-dev golang-golang-x-crypto-dev golang-google-grpc-dev golang-goprotobuf-dev protobuf-compiler nats-server docker-registry skopeo wrk"
command -v npm >/dev/null || packages="$packages nodejs npm"
missing=""
if command -v dpkg >/dev/null; then
  for package in $packages; do
    dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
  done
fi
if [ -n "$missing" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "== installing Debian packages for the go-plugin and fleet tests:$missing"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
if ! python3 -c "import grpc, grpc_health" >/dev/null 2>&1; then
  echo "== installing grpcio for the grpc-core client test of hookhost plugin"
  python3 -m pip install --quiet --disable-pip-version-check grpcio grpcio-health-checking
fi
if ! python3 -c "import oras.client" >/dev/null 2>&1; then
  echo "== installing oras (Python) for the registry tests: an independent client pushes a component"
  python3 -m pip install --quiet --disable-pip-version-check oras==0.2.25
fi
if ! componentize-py --version >/dev/null 2>&1; then
  echo "== installing componentize-py for the Python hook tests"
  python3 -m pip install --quiet --disable-pip-version-check componentize-py==0.25.1
fi
if [ ! -x target/tools/bin/wasmsign2 ]; then
  echo "== installing the wasmsign2 CLI for the signature tests (hookhost sign and it verify each other)"
  cargo install --quiet --locked wasmsign2-cli --version 0.2.8 --root target/tools
fi
if [ ! -x target/js/node_modules/.bin/componentize-js ]; then
  echo "== installing componentize-js for the JavaScript hook tests"
  npm install --silent --no-audit --no-fund --prefix target/js @bytecodealliance/componentize-js@0.23.0
fi
