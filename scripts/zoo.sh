#!/usr/bin/env bash
# Runs the Learnable Distributions Zoo example (examples/zoo.rs) after the set-up.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
cargo run --example zoo
