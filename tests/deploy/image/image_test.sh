#!/usr/bin/env bash
# Builds the container image from a clean checkout of HEAD with podman, and runs it: a simulator
# container and an exporter container from that one image, on the host network with ports picked
# at run time. Checks that the exporter serves the simulator's jobs, that the image's HEALTHCHECK
# passes, also with a mounted web config that turns on TLS, client certificates and basic auth,
# and fails for a stopped exporter, that the exporter runs as 65532 with no capabilities, that
# SIGTERM stops it within 5 s with exit code 0, and that the runtime image holds only what the
# binaries need.
#
#   tests/deploy/image/image_test.sh [REPO]    (REPO defaults to this checkout)
#
# Exits 77 (CTest's SKIP_RETURN_CODE) with the reason on one line when podman, runc or, to make
# the Debian base images, mmdebstrap is missing. PODMAN names the podman binary (default podman).
#
# No registry is reachable from the development and CI machines: the base images
# debian:bookworm and debian:bookworm-slim are made here with mmdebstrap, once, and kept.
set -euo pipefail

repo=$(cd "${1:-$(dirname "$0")/../../..}" && git rev-parse --show-toplevel)
podman_bin=${PODMAN:-podman}
base=docker.io/library/debian:bookworm
slim=docker.io/library/debian:bookworm-slim

skip() {
  echo "SKIPPED: $* (scripts/install-container-tools.sh installs it)"
  exit 77
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ok() { echo "ok - $*"; }

command -v "$podman_bin" >/dev/null || skip "podman not found ($podman_bin)"
command -v runc >/dev/null || skip "runc not found"

work=$(mktemp -d "${TMPDIR:-/tmp}/creatify-image-test.XXXXXX")
# The engine settings these machines need, and nothing else: CONTAINERS_CONF replaces the
# system's containers.conf. Without default_ulimits = [] podman asks for limits the sandbox
# refuses.
cat >"$work/containers.conf" <<'CONF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$work/containers.conf
podman() { command "$podman_bin" --runtime=runc "$@"; }

id=creatify-image-test-$$-$RANDOM
image=localhost/$id:latest
simulator=$id-simulator
exporter=$id-exporter
secured=$id-secured
volume=$id-state

cleanup() {
  podman rm --force --volumes --time 0 "$simulator" "$exporter" "$secured" >/dev/null 2>&1 || true
  podman volume rm --force "$volume" >/dev/null 2>&1 || true
  podman rmi --force "$image" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Polls `$@` every 0.2 s while it returns 1 ("not yet"), for at most `timeout` seconds; any other
# status ends the wait at once.
wait_for() {
  local timeout=$1 status
  shift
  local deadline=$((SECONDS + timeout))
  while :; do
    status=0
    "$@" || status=$?
    ((status == 1)) || return "$status"
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

running() { [[ $(podman inspect --format '{{.State.Running}}' "$1" 2>/dev/null) == true ]]; }

logs_and_fail() {
  local container=$1
  shift
  echo "--- podman logs $container" >&2
  podman logs "$container" >&2 || true
  fail "$*"
}

# --- Base images ------------------------------------------------------------------------------
# Debian's minbase with the path excludes of the official slim images (no docs, man pages or
# locales), for both tags: the build stage does not need the docs either. A lock keeps two test
# runs from making them at once.
make_base_images() {
  podman image exists "$base" && podman image exists "$slim" && return 0
  command -v mmdebstrap >/dev/null || skip "mmdebstrap not found, and $base is not there to build from"
  exec 9>"${TMPDIR:-/tmp}/creatify-image-test-base.lock"
  flock 9
  if ! podman image exists "$base"; then
    echo "# making $base with mmdebstrap (once; it is kept)"
    mmdebstrap --quiet --variant=minbase \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-include=/usr/share/locale/locale.alias' \
      --dpkgopt='path-exclude=/usr/share/lintian/*' \
      bookworm - </dev/null | podman import --quiet - "$base" >/dev/null
  fi
  podman image exists "$slim" || podman tag "$base" "$slim"
  exec 9>&-
}
make_base_images
ok "base images $base and $slim"

# --- 1. The image builds from a clean checkout ------------------------------------------------
# A clone of HEAD, so that build trees and other untracked files stay out of the context; it keeps
# .git, which the build stamps the binaries with.
revision=$(git -C "$repo" rev-parse HEAD)
if [[ -n $(git -C "$repo" status --porcelain --untracked-files=no) ]]; then
  echo "# note: uncommitted changes are not in the image; it builds HEAD ($revision)"
fi
git clone --quiet "$repo" "$work/src"
git -C "$work/src" checkout --quiet --detach "$revision"

build_start=$SECONDS
# chroot isolation and the docker format: OCI images have no HEALTHCHECK.
podman build --quiet --isolation=chroot --format=docker --pull=never \
  --build-arg REVISION="$revision" --tag "$image" "$work/src" >"$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; fail "podman build failed"; }
ok "image builds from a clone of $revision ($((SECONDS - build_start)) s)"

# --- 2. A simulator and an exporter from the one image serve the simulator's jobs -------------
# Without systemd, podman logs that it cannot add a timer for the health check: harmless, as
# `podman healthcheck run` runs it below. Such messages go to $work/podman.log, shown on failure.
podman volume create "$volume" >/dev/null
api_id="image-test-id"
api_key="image-test-key"
podman run --detach --name "$simulator" --network=host --no-healthcheck \
  --volume "$volume:/var/lib/creatify-exporter" \
  --entrypoint /usr/local/bin/creatify-simulator "$image" \
  --listen-address=127.0.0.1:0 --api-id="$api_id" --api-key="$api_key" \
  --ads-clone-jobs=2 --custom-template-jobs=2 --aurora-jobs=3 --stage-duration=30s \
  --exporter-poll-interval=1s \
  --write-exporter-config=/var/lib/creatify-exporter/exporter.yaml >/dev/null

config_written() {
  running "$simulator" || logs_and_fail "$simulator" "the simulator exited"
  podman exec "$simulator" cat /var/lib/creatify-exporter/exporter.yaml >"$work/exporter.yaml" \
    2>/dev/null || return 1
}
wait_for 30 config_written ||
  logs_and_fail "$simulator" "the simulator wrote no exporter config within 30 s"
simulator_url=$(sed -n 's/^ *base_url: *//p' "$work/exporter.yaml")
ok "simulator container serves $simulator_url and wrote the exporter config into the volume"

# A port that nothing listens on, below the kernel's ephemeral range so that no outgoing
# connection takes it meanwhile; the exporter is started again on another one should it be taken.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
  done
  echo "$port"
}

metrics_ready() {
  running "$exporter" || return 2
  curl -fsS --max-time 2 "http://127.0.0.1:$port/metrics" >"$work/metrics" 2>/dev/null &&
    grep -q '^creatify_up 1$' "$work/metrics" &&
    grep -q '^creatify_jobs{kind="aurora",' "$work/metrics" || return 1
}

for _ in 1 2 3; do
  port=$(free_port)
  podman rm --force "$exporter" >/dev/null 2>&1 || true
  # No --cap-drop and no --user: the image's defaults are what is checked. The simulator's volume
  # is read-only beside the exporter's own state directory (an anonymous volume), which holds its
  # health socket.
  podman run --detach --name "$exporter" --network=host \
    --volume "$volume:/run/creatify-sim:ro" \
    --env CREATIFY_API_ID="$api_id" --env CREATIFY_API_KEY="$api_key" \
    "$image" --config.file=/run/creatify-sim/exporter.yaml \
    --web.listen-address="127.0.0.1:$port" >/dev/null 2>>"$work/podman.log" ||
    { cat "$work/podman.log" >&2; fail "podman run $exporter failed"; }
  status=0
  wait_for 60 metrics_ready || status=$?
  ((status == 0)) && break
  if ! running "$exporter" && podman logs "$exporter" 2>&1 | grep -qi 'in use'; then
    echo "# port $port was taken meanwhile; another one"
    continue
  fi
  cat "$work/metrics" >&2 2>/dev/null || true
  logs_and_fail "$exporter" "no creatify_up 1 and aurora jobs on 127.0.0.1:$port/metrics in 60 s"
done
((status == 0)) || logs_and_fail "$exporter" "no free port for the exporter in 3 attempts"
jobs=$(grep -c '^creatify_jobs{' "$work/metrics")
ok "exporter container on 127.0.0.1:$port serves the simulator's jobs ($jobs creatify_jobs samples, creatify_up 1)"

# --- 3. The image's HEALTHCHECK passes ---------------------------------------------------------
[[ $(podman image inspect --format '{{.HealthCheck.Test}}' "$image") == *"--web.health-check"* ]] ||
  fail "the image has no HEALTHCHECK running --web.health-check (built in OCI format?)"
podman healthcheck run "$exporter" >"$work/health" 2>&1 ||
  { cat "$work/health" >&2; fail "podman healthcheck run $exporter failed"; }
ok "podman healthcheck run passes"

# --- 3b. It passes as it is with TLS, client certificates and basic auth on ---------------------
# A CA, a server certificate for 127.0.0.1 and a client certificate it signs, made here; readable
# by the image's user (test keys only).
pki=$work/web
mkdir -p "$pki"
openssl_quiet() { openssl "$@" 2>>"$work/openssl.log" || { cat "$work/openssl.log" >&2; fail "openssl $1 failed"; }; }
openssl_quiet req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=image-test-ca \
  -keyout "$pki/ca.key" -out "$pki/ca.crt"
for who in server client; do
  openssl_quiet req -newkey rsa:2048 -nodes -subj "/CN=image-test-$who" \
    -keyout "$pki/$who.key" -out "$pki/$who.csr"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=%s\n' \
    "$([[ $who == server ]] && echo serverAuth || echo clientAuth)" >"$pki/$who.ext"
  openssl_quiet x509 -req -in "$pki/$who.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 2 -extfile "$pki/$who.ext" -out "$pki/$who.crt"
done
# The README's example user: prometheus / example-password.
cat >"$pki/web-config.yaml" <<'YAML'
tls_server_config:
  cert_file: /etc/creatify-exporter/web/server.crt
  key_file: /etc/creatify-exporter/web/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: /etc/creatify-exporter/web/ca.crt
basic_auth_users:
  prometheus: $2y$10$auEwYZrtUtDEFGUEBzYuz.R3hdP1UAKTTW1nD5oVch.C1lpeXf0sW
YAML
chmod 0755 "$pki"
chmod 0644 "$pki"/*
secured_port=$(free_port)
podman run --detach --name "$secured" --network=host \
  --volume "$volume:/run/creatify-sim:ro" --volume "$pki:/etc/creatify-exporter/web:ro" \
  --env CREATIFY_API_ID="$api_id" --env CREATIFY_API_KEY="$api_key" \
  "$image" --config.file=/run/creatify-sim/exporter.yaml \
  --web.listen-address="127.0.0.1:$secured_port" \
  --web.config.file=/etc/creatify-exporter/web/web-config.yaml >/dev/null 2>>"$work/podman.log" ||
  { cat "$work/podman.log" >&2; fail "podman run $secured failed"; }
https_ready() {
  running "$secured" || return 2
  curl -fsS --max-time 2 --cacert "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key" \
    -u prometheus:example-password "https://127.0.0.1:$secured_port/-/healthy" >/dev/null 2>&1 ||
    return 1
}
wait_for 60 https_ready ||
  logs_and_fail "$secured" "no 200 from https://127.0.0.1:$secured_port/-/healthy with the client certificate and the password in 60 s"
# The port lets in no one without all three.
! curl -fsS --max-time 2 --cacert "$pki/ca.crt" -u prometheus:example-password \
  "https://127.0.0.1:$secured_port/-/healthy" >/dev/null 2>&1 ||
  fail "the secured exporter answered a client without a certificate"
! curl -fsS --max-time 2 --cacert "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key" \
  "https://127.0.0.1:$secured_port/-/healthy" >/dev/null 2>&1 ||
  fail "the secured exporter answered a client without the password"
health_status() {
  podman inspect --format '{{.State.Health.Status}}' "$1" 2>/dev/null ||
    podman inspect --format '{{.State.Healthcheck.Status}}' "$1"
}
# As podman's timer would run it (no systemd here): once the socket is up, it passes.
healthy() { podman healthcheck run "$secured" >"$work/health" 2>&1; }
wait_for 30 healthy ||
  { cat "$work/health" >&2; logs_and_fail "$secured" "podman healthcheck run $secured did not pass within 30 s"; }
[[ $(health_status "$secured") == healthy ]] ||
  fail "health status of $secured is \"$(health_status "$secured")\", not healthy"
ok "with TLS, client certificates and basic auth on, the image's health check passes (status healthy)"

# A stopped exporter fails it: the check gives up after 3 s, within the HEALTHCHECK's 5 s.
podman kill --signal STOP "$secured" >/dev/null
check_start=$SECONDS
status=0
podman healthcheck run "$secured" >"$work/health" 2>&1 || status=$?
podman kill --signal CONT "$secured" >/dev/null
# 1: the check ran and failed (unhealthy), not an error of podman's own (125).
((status == 1)) ||
  { cat "$work/health" >&2; fail "podman healthcheck run exited $status for a stopped exporter, not 1 (unhealthy)"; }
ok "a stopped (SIGSTOP) exporter fails the health check (exit $status after $((SECONDS - check_start)) s)"
podman rm --force --time 0 "$secured" >/dev/null 2>&1 || true

# --- 4. The exporter runs as 65532, with no capabilities ---------------------------------------
podman exec "$exporter" cat /proc/1/status >"$work/status"
podman exec "$exporter" cat /proc/1/cmdline | tr '\0' ' ' >"$work/cmdline"
[[ $(<"$work/cmdline") == /usr/local/bin/creatify-exporter\ * ]] ||
  fail "process 1 is not the exporter: $(<"$work/cmdline")"
field() { awk -v k="$1:" '$1 == k { $1 = ""; print substr($0, 2) }' "$work/status"; }
uid=$(field Uid | tr -s '\t ' ' ')
gid=$(field Gid | tr -s '\t ' ' ')
[[ $uid == "65532 65532 65532 65532" ]] || fail "Uid (real, effective, saved, fs) is $uid"
[[ $gid == "65532 65532 65532 65532" ]] || fail "Gid (real, effective, saved, fs) is $gid"
for set in CapInh CapPrm CapEff CapAmb; do
  [[ $(field "$set") == 0000000000000000 ]] || fail "$set is $(field "$set"), not 0"
done
ok "exporter process runs as 65532:65532 with CapInh, CapPrm, CapEff and CapAmb 0"

# --- 5. SIGTERM stops it within 5 s, exit code 0 -----------------------------------------------
stop_start=$(date +%s%N)
podman stop --time 10 "$exporter" >/dev/null 2>>"$work/podman.log" ||
  { cat "$work/podman.log" >&2; fail "podman stop $exporter failed"; }
stop_ms=$((($(date +%s%N) - stop_start) / 1000000))
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$exporter")
((exit_code == 0)) || logs_and_fail "$exporter" "exit code $exit_code after SIGTERM"
((stop_ms < 5000)) || fail "podman stop took $stop_ms ms (limit 5000)"
ok "SIGTERM stops the exporter in $stop_ms ms with exit code 0"

# --- 6. The runtime image holds what the binaries need, and little else ------------------------
[[ $(podman image inspect --format '{{json .Config.Volumes}}' "$image") == *'"/var/lib/creatify-exporter"'* ]] ||
  fail "no VOLUME /var/lib/creatify-exporter"
# Inside the image: every library the binaries load resolves; every package installed on top of
# the base image owns one of them (ca-certificates aside, for https://api.creatify.ai); no apt
# lists, downloaded packages or docs were left; the state directory belongs to 65532.
podman run --rm --network=none --entrypoint /bin/bash "$slim" \
  -c 'apt-mark showmanual; dpkg-query -W -f="\${Package}\n"' | sort -u >"$work/base-packages"
podman run --rm --network=none --volume "$work/base-packages:/tmp/base-packages:ro" \
  --entrypoint /bin/bash "$image" -c '
    set -euo pipefail
    problems=()
    libs=$(ldd /usr/local/bin/creatify-exporter /usr/local/bin/creatify-simulator)
    if grep -q "not found" <<<"$libs"; then problems+=("unresolved libraries: $(grep "not found" <<<"$libs")"); fi
    used=$(grep -o "=> /[^ ]*" <<<"$libs" | cut -c4- | sort -u |
      while read -r lib; do dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" || true; done |
      cut -d: -f1 | sort -u)
    added=$(dpkg-query -W -f="\${Package}\n" | sort -u | comm -23 - /tmp/base-packages)
    manual=$(apt-mark showmanual | sort -u | comm -23 - /tmp/base-packages)
    for p in $manual; do
      [[ $p == ca-certificates ]] || grep -qx "$p" <<<"$used" || problems+=("installed but loaded by neither binary: $p")
    done
    leftovers=$(find /var/lib/apt/lists /var/cache/apt -type f ! -name lock 2>/dev/null; find /usr/share/doc -type f ! -name copyright 2>/dev/null; ls -d /src /usr/share/man/man? 2>/dev/null) || true
    [[ -z $leftovers ]] || problems+=("left in the image: $(head -5 <<<"$leftovers" | tr "\n" " ")")
    owner=$(stat -c %u:%g /var/lib/creatify-exporter)
    [[ $owner == 65532:65532 ]] || problems+=("/var/lib/creatify-exporter is owned by $owner")
    echo "packages added to the base: $(tr "\n" " " <<<"$added")"
    if ((${#problems[@]})); then printf "PROBLEM: %s\n" "${problems[@]}"; exit 1; fi
  ' >"$work/contents" 2>&1 || { cat "$work/contents" >&2; fail "the runtime image holds more or less than it should"; }
size=$(podman image inspect --format '{{.Size}}' "$image")
base_size=$(podman image inspect --format '{{.Size}}' "$slim")
echo "# $(sed -n 's/^packages added/runtime stage: packages added/p' "$work/contents")"
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }
ok "runtime image: $(mb "$size") (base $(mb "$base_size") + $(mb $((size - base_size)))), only libraries the binaries load, no apt lists, caches or docs"
