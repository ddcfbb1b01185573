#!/usr/bin/env bash
# Installs, from Debian 12's packages, what the container image test (tests/deploy/image/) needs:
# podman to build and run the image, runc as its runtime, mmdebstrap to make the Debian base
# images where no registry is reachable. Safe to run again: it does nothing, and asks for nothing,
# when all three are there.
set -euo pipefail

packages=(podman runc mmdebstrap)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for p in "${packages[@]}"; do
  command -v "$p" >/dev/null || installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
