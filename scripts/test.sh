#!/usr/bin/env bash
# The whole test suite: install what is missing, then build and run every test in release mode
# (the end-to-end CLI tests run the release binary; debug numerics would be needlessly slow).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product replicate
swift test -c release "$@"
