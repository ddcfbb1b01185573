#!/usr/bin/env bash
# Installs, from Debian 12's packages, whatever of the build and test tools is missing.
# Safe to run again: it does nothing when everything is there.
set -euo pipefail

build=(
  build-essential cmake pkg-config git
  prometheus-cpp-dev libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev libsqlite3-dev
  libssl-dev zlib1g-dev libbrotli-dev
)
test=(doctest-dev prometheus curl nodejs npm)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for p in "${build[@]}" "${test[@]}"; do
  installed "$p" || missing+=("$p")
done
# A Node.js installed outside of dpkg (as on the development images) is good enough.
if command -v node >/dev/null && command -v npm >/dev/null; then
  kept=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || kept+=("$p"); done
  missing=("${kept[@]}")
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
updated=false
apt_update() { $updated || { $sudo apt-get update -qq; updated=true; }; }

if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}" >&2
  apt_update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# kubectl (for the Kubernetes manifest checks) is not in Debian 12's own archive: it comes from
# the Kubernetes apt repository. Install it where an apt source offers it; otherwise say so: the
# build does not need it, and the deploy/k8s tests fail with "kubectl not found" until it is there.
if ! command -v kubectl >/dev/null; then
  apt_update
  if apt-cache policy kubectl 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq kubectl >/dev/null
  else
    echo "kubectl is not available from the configured apt sources; add the Kubernetes apt" \
      "repository (pkgs.k8s.io) for the deploy/k8s checks." >&2
  fi
fi
