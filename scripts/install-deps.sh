#!/usr/bin/env bash
# Installs, from Debian 12's own archive, whatever of the build and test tools is missing.
# When everything is there it does nothing: no apt-get update, no sudo.
#   scripts/install-deps.sh           what the build and the whole test suite need
#   scripts/install-deps.sh --build   only what building the two programs needs (the quick start)
set -euo pipefail
build_only=false
[[ ${1:-} == --build ]] && build_only=true

# The build packages, exactly those of the Dockerfile's build stage (a test keeps them equal).
build=(
  build-essential cmake pkg-config git
  libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev libsqlite3-dev
  libssl-dev zlib1g-dev libbrotli-dev libcrypt-dev
)
# doctest, promtool and prometheus, Node.js for the deploy checks, a de_DE locale (a decimal
# comma) for the locale-independence test, curl for the README's examples, Boost.Beast (headers
# only) that the request parser is checked against, the Python client whose OpenMetrics parser
# the OpenMetrics body is checked with.
test=(doctest-dev prometheus nodejs npm locales curl libboost-dev python3-prometheus-client)
# CI's format check.
other=(clang-format)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# A Node.js installed outside dpkg (nodesource, nvm) counts as present.
present() {
  case $1 in
    nodejs) command -v node >/dev/null || installed nodejs ;;
    npm) command -v npm >/dev/null || installed npm ;;
    *) installed "$1" ;;
  esac
}

missing=()
wanted=("${build[@]}")
$build_only || wanted+=("${test[@]}" "${other[@]}")
for p in "${wanted[@]}"; do present "$p" || missing+=("$p"); done

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

$build_only && exit 0

# Listed in /etc/locale.gen, so that a later locale-gen keeps it.
if ! locale -a 2>/dev/null | grep -qix 'de_DE\.utf-\?8'; then
  echo "Generating the de_DE.UTF-8 locale" >&2
  grep -qx 'de_DE.UTF-8 UTF-8' /etc/locale.gen 2>/dev/null ||
    echo 'de_DE.UTF-8 UTF-8' | $sudo tee -a /etc/locale.gen >/dev/null
  $sudo locale-gen >/dev/null
fi
