#!/usr/bin/env bash
# What every other script needs first: the wasm32-wasip2 target the guests
# build for (also named in rust-toolchain.toml; `rustup target add` is a
# no-op once it is there). The one place this is done.
set -euo pipefail
rustup target add wasm32-wasip2 >/dev/null
