#!/usr/bin/env bash
# Runs every target's smoke profile (seed 0, 2 threads) into a throw-away store and prints each
# stored metric and series value as hex bits, timing metrics left out. A pure refactor must leave
# this output unchanged: `scripts/smoke-fingerprint.sh > before.txt`, change the code, run it
# again and `diff before.txt after.txt`.
# Usage: scripts/smoke-fingerprint.sh [replicate binary] (default .build/release/replicate)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/release/replicate}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export REPLICATE_CACHE="$work/cache"
for target in $(ls Replications); do
  [ -f "Replications/$target/target.yaml" ] || continue
  "$bin" "$target" --profile smoke --seed 0 --threads 2 --db "$work/store.sqlite" --fresh >/dev/null 2>"$work/err" \
    || { echo "smoke-fingerprint: $target failed:" >&2; cat "$work/err" >&2; exit 1; }
done
sqlite3 "$work/store.sqlite" <<'SQL'
SELECT r.target, 'metric', m.name, printf('%!.17g', m.value), hex(CAST(m.value AS BLOB))
  FROM metric m JOIN run r ON r.id = m.runID
  WHERE m.name NOT LIKE '%seconds%' AND m.name NOT LIKE '%per_second%'
  ORDER BY r.target, m.name;
SELECT r.target, 'series', s.name, s.step, printf('%!.17g', s.value)
  FROM series s JOIN run r ON r.id = s.runID
  WHERE s.name NOT LIKE '%seconds%'
  ORDER BY r.target, s.name, s.step, s.x;
SELECT r.target, 'dataset', r.datasetID, r.datasetHash FROM run r ORDER BY r.target;
SQL
