#!/usr/bin/env bash
# Makes sure a Docker daemon answers on the local socket, and that the other test
# prerequisites are installed. Idempotent: does nothing when all is in place.
set -euo pipefail

SOCKET="${DOCKER_HOST:-unix:///var/run/docker.sock}"
SOCKET="${SOCKET#unix://}"
TIMEOUT="${K2D_DOCKER_TIMEOUT:-60}"

log() { echo "setup-docker: $*" >&2; }

apt_updated=0
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        log "need root to install: ${missing[*]}"
        return 1
    fi
    if [ "$apt_updated" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        apt_updated=1
    fi
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

if ! command -v dockerd >/dev/null 2>&1; then
    apt_install docker.io
fi
# Tests build their image from busybox-static and run the aarch64 binary under qemu;
# curl checks /version; `file` checks the binaries are static.
apt_install busybox-static qemu-user-static curl file
# An optional local registry for image-pull tests; not fatal if unavailable.
apt_install docker-registry || log "docker-registry not installed (optional)"

docker_answers() { docker info >/dev/null 2>&1; }

if ! docker_answers; then
    if pgrep -x dockerd >/dev/null 2>&1; then
        log "dockerd is running but not answering yet; waiting"
    else
        log "starting dockerd"
        setsid dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
    fi
    waited=0
    until docker_answers; do
        if [ "$waited" -ge "$TIMEOUT" ]; then
            log "ERROR: Docker did not answer on $SOCKET within ${TIMEOUT}s; see /var/log/dockerd.log:"
            tail -n 20 /var/log/dockerd.log >&2 || true
            exit 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    log "Docker is up after ${waited}s"
fi
