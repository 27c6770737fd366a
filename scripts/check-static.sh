#!/usr/bin/env bash
# Proves the release artefacts work: builds both static musl binaries, serves /version over
# HTTPS from the aarch64 one under qemu-user, then from the container image with the Docker
# socket mounted. Each server gets a fresh data dir and a random free port, and /version is
# checked against the CA k2d wrote to $K2D_DATA_PATH/pki/ca.crt.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
WAIT="${K2D_CHECK_TIMEOUT:-60}"
SOCKET="${DOCKER_HOST:-unix:///var/run/docker.sock}"
SOCKET="${SOCKET#unix://}"
IMAGE=k2d:check

log() { echo "check-static: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

CLEANUP=()
cleanup() {
    local i
    for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do eval "${CLEANUP[$i]}" || true; done
}
trap cleanup EXIT

# wait_and_check NAME PORT DATA TOKEN ALIVE_CMD LOG_CMD: waits for the CA file and an answer
# on /version while ALIVE_CMD says the server still runs; prints its log on failure.
wait_and_check() {
    local name="$1" port="$2" data="$3" token="$4" alive="$5" logs="$6"
    local url="https://127.0.0.1:$port/version" waited=0 body=""
    while :; do
        if ! eval "$alive"; then
            log "$name exited before serving; its output:"
            eval "$logs" >&2 || true
            die "$name did not serve /version"
        fi
        if [ -s "$data/pki/ca.crt" ] &&
            body="$(curl -sS --fail --max-time 5 --cacert "$data/pki/ca.crt" \
                -H "Authorization: Bearer $token" "$url" 2>/dev/null)"; then
            break
        fi
        if [ "$waited" -ge "$WAIT" ]; then
            log "$name: no answer on $url within ${WAIT}s; its output:"
            eval "$logs" >&2 || true
            die "$name did not serve /version"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    case "$body" in
        *'"gitVersion"'*) log "$name answered $url: $(tr -d '\n ' <<<"$body" | cut -c1-120)" ;;
        *) die "$name: /version is not a version.Info: $body" ;;
    esac
}

new_secret() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

scripts/build-static.sh x86_64 aarch64
command -v qemu-aarch64-static >/dev/null || die "qemu-aarch64-static missing; run scripts/setup-docker.sh"

# --- aarch64 binary under qemu-user -------------------------------------------------------
data="$(mktemp -d /tmp/k2d-check-qemu.XXXXXX)"
CLEANUP+=("rm -rf '$data'")
port="$(free_port)"
secret="$(new_secret)"
token="$(printf %s "$secret" | base64 -w0)"
log "running dist/k2d-aarch64 under qemu on 127.0.0.1:$port, data in $data"
K2D_PORT="$port" K2D_BIND_ADDR=127.0.0.1 K2D_ADVERTISE_ADDR=127.0.0.1 K2D_DATA_PATH="$data" \
    K2D_SECRET="$secret" DOCKER_HOST="unix://$SOCKET" \
    setsid qemu-aarch64-static dist/k2d-aarch64 >"$data.log" 2>&1 </dev/null &
qpid=$!
CLEANUP+=("kill $qpid 2>/dev/null; wait $qpid 2>/dev/null; rm -f '$data.log'")
wait_and_check "k2d-aarch64 (qemu)" "$port" "$data" "$token" "kill -0 $qpid 2>/dev/null" "cat '$data.log'"
kill "$qpid"

# --- container image ----------------------------------------------------------------------
scripts/build-image.sh "$IMAGE"
data="$(mktemp -d /tmp/k2d-check-image.XXXXXX)"
CLEANUP+=("rm -rf '$data'")
port="$(free_port)"
secret="$(new_secret)"
token="$(printf %s "$secret" | base64 -w0)"
name="k2d-check-$$"
log "running $IMAGE as $name on 127.0.0.1:$port, data in $data"
docker run -d --name "$name" --network host --pid host \
    -e K2D_PORT="$port" -e K2D_BIND_ADDR=127.0.0.1 -e K2D_ADVERTISE_ADDR=127.0.0.1 \
    -e K2D_SECRET="$secret" \
    -v "$data:/var/lib/k2d" -v "$SOCKET:/var/run/docker.sock" "$IMAGE" >/dev/null
CLEANUP+=("docker rm -f '$name' >/dev/null 2>&1")
wait_and_check "$IMAGE container" "$port" "$data" "$token" \
    "[ \"\$(docker inspect -f '{{.State.Running}}' '$name' 2>/dev/null)\" = true ]" "docker logs '$name'"

log "static binaries, qemu and image: OK"
