#!/usr/bin/env bash
# The main job on the embedded default data: install what is missing, build (release), run the
# blur-detection target's ci profile, write the HTML report and JUnit XML, and gate on the bands.
# Usage: scripts/main.sh [extra arguments for the run, e.g. --seeds 0-4]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product replicate
bin=.build/release/replicate
"$bin" blur-detection --profile ci "$@"
"$bin" report --html Reports/index.html --junit Reports/junit.xml
"$bin" gate --profile ci
