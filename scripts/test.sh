#!/usr/bin/env bash
# The whole test suite: install what is missing, then build and run every test in release mode
# (`swift test` builds the `replicate` binary too, which the end-to-end CLI tests run; debug
# numerics would be needlessly slow).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift test -c release "$@"
