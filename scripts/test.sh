#!/usr/bin/env bash
# Builds and tests everything: set-up (idempotent), `cargo test` (with the `cli` feature, so the
# `tchd` program and its test are built and run too), and the PyTorch parity script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
cargo build --examples --features cli
cargo test --features cli
echo "== parity with PyTorch (scripts/parity.py)"
.venv/bin/python scripts/parity.py --driver target/debug/examples/json_driver
