#!/usr/bin/env bash
# Installs, from Debian 12's packages, the tools of CI's checks beyond the test suite: clang with
# its sanitizer and libFuzzer runtimes (scripts/fuzz.sh), clang-tidy and cppcheck
# (scripts/lint.sh). Safe to run again: it does nothing, and asks for nothing, when all are there.
set -euo pipefail

packages=(clang libclang-rt-14-dev clang-tidy cppcheck)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
