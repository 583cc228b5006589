#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages replicate needs, only those that are missing.
# Sourced by scripts/main.sh and scripts/test.sh; safe to run on its own.
set -euo pipefail

packages=(
  pkg-config        # SwiftPM finds the C libraries' flags through it
  libopenblas-dev   # BLAS (sgemm) for the engine
  libopenslide-dev  # whole-slide images
  libsqlite3-dev    # results store (GRDB links the system SQLite)
  libxml2-dev       # annotations (ASAP/Camelyon16 XML)
  libxml2-utils     # xmllint: the tests validate the JUnit XML against its schema
  libtiff-dev       # TIFF images and pyramidal slide writing
  libpng-dev        # PNG images
  libssl-dev        # SHA-256 (libcrypto) for config and dataset hashes
  libhdf5-dev       # CLAM's .h5 feature bags (predict --bags)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
