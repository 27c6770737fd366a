#!/usr/bin/env bash
# Runs two local image registries for pull tests (no registry on the internet is reachable):
#   plain  127.0.0.1:$K2D_REGISTRY_PORT       (default 5100), no authentication
#   auth   127.0.0.1:$K2D_AUTH_REGISTRY_PORT  (default 5101), htpasswd basic auth
# both Debian's `docker-registry` with their own config and storage under $K2D_REGISTRY_DIR
# (default /tmp/k2d-registries), and pushes k2d-test/busybox:1 (scripts/test-image.sh) into each.
# Docker treats 127.0.0.0/8 registries as insecure-allowed, so plain HTTP works.
#
# Idempotent and safe to run concurrently (tests call it): a running registry and a pushed
# image are left alone. Prints, on stdout, lines a test or shell can use:
#   K2D_REGISTRY=127.0.0.1:5100
#   K2D_AUTH_REGISTRY=127.0.0.1:5101
#   K2D_AUTH_REGISTRY_USER=k2d
#   K2D_AUTH_REGISTRY_PASSWORD=...
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${K2D_REGISTRY_DIR:-/tmp/k2d-registries}"
PLAIN_PORT="${K2D_REGISTRY_PORT:-5100}"
AUTH_PORT="${K2D_AUTH_REGISTRY_PORT:-5101}"
USER_NAME=k2d
PASSWORD=k2d-test-password
IMAGE=k2d-test/busybox:1

log() { echo "setup-registry: $*" >&2; }

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
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

mkdir -p "$DIR"
# One runner at a time: cargo runs tests in parallel and several may call this script.
exec 9>"$DIR/.lock"
flock 9

command -v docker-registry >/dev/null 2>&1 || apt_install docker-registry
# docker-registry's htpasswd backend only accepts bcrypt hashes; apache2-utils' htpasswd -B makes them.
command -v htpasswd >/dev/null 2>&1 || apt_install apache2-utils
command -v curl >/dev/null 2>&1 || apt_install curl

"$REPO/scripts/test-image.sh" >&2

# $1 name, $2 port, $3 extra config (auth section or empty)
write_config() {
    local name="$1" port="$2" auth="$3"
    mkdir -p "$DIR/$name/data"
    cat > "$DIR/$name/config.yml.new" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $DIR/$name/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: k2d-test-registry-$name
$auth
EOF
    mv "$DIR/$name/config.yml.new" "$DIR/$name/config.yml"
}

# The registry answers /v2/ with 200 (plain) or 401 (auth): either means it is up.
answers() {
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/v2/" || true)"
    [ "$code" = 200 ] || [ "$code" = 401 ]
}

# $1 name, $2 port
start_registry() {
    local name="$1" port="$2"
    if answers "$port"; then
        return 0
    fi
    log "starting $name registry on 127.0.0.1:$port"
    # fd 9 (the lock) must not outlive this script in the registry process.
    setsid docker-registry serve "$DIR/$name/config.yml" >>"$DIR/$name/registry.log" 2>&1 </dev/null 9>&- &
    echo $! > "$DIR/$name/pid"
    for _ in $(seq 1 50); do
        answers "$port" && return 0
        sleep 0.2
    done
    log "ERROR: $name registry did not answer on 127.0.0.1:$port; see $DIR/$name/registry.log:"
    tail -n 20 "$DIR/$name/registry.log" >&2 || true
    exit 1
}

# $1 port, $2 curl auth args...: is the test image's manifest there?
has_image() {
    local port="$1"
    shift
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' "$@" \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://127.0.0.1:$port/v2/${IMAGE%:*}/manifests/${IMAGE##*:}" || true)"
    [ "$code" = 200 ]
}

# $1 port
push() {
    local ref="127.0.0.1:$1/$IMAGE"
    docker tag "$IMAGE" "$ref"
    docker push "$ref" >&2
    # The tag was only a vehicle for the push; pull tests expect it absent locally.
    docker rmi "$ref" >/dev/null
}

write_config plain "$PLAIN_PORT" ""
if [ ! -s "$DIR/auth/htpasswd" ] || ! grep -q "^$USER_NAME:" "$DIR/auth/htpasswd"; then
    mkdir -p "$DIR/auth"
    htpasswd -Bbn "$USER_NAME" "$PASSWORD" > "$DIR/auth/htpasswd"
fi
write_config auth "$AUTH_PORT" "auth:
  htpasswd:
    realm: k2d-test
    path: $DIR/auth/htpasswd"

start_registry plain "$PLAIN_PORT"
start_registry auth "$AUTH_PORT"

if ! has_image "$PLAIN_PORT"; then
    log "pushing $IMAGE to 127.0.0.1:$PLAIN_PORT"
    push "$PLAIN_PORT"
fi
if ! has_image "$AUTH_PORT" -u "$USER_NAME:$PASSWORD"; then
    log "pushing $IMAGE to 127.0.0.1:$AUTH_PORT"
    # A throwaway Docker config so the login does not linger in the user's ~/.docker.
    conf="$(mktemp -d)"
    trap 'rm -rf "$conf"' EXIT
    echo "$PASSWORD" | DOCKER_CONFIG="$conf" docker login -u "$USER_NAME" --password-stdin \
        "127.0.0.1:$AUTH_PORT" >&2
    ref="127.0.0.1:$AUTH_PORT/$IMAGE"
    docker tag "$IMAGE" "$ref"
    DOCKER_CONFIG="$conf" docker push "$ref" >&2
    docker rmi "$ref" >/dev/null
fi

echo "K2D_REGISTRY=127.0.0.1:$PLAIN_PORT"
echo "K2D_AUTH_REGISTRY=127.0.0.1:$AUTH_PORT"
echo "K2D_AUTH_REGISTRY_USER=$USER_NAME"
echo "K2D_AUTH_REGISTRY_PASSWORD=$PASSWORD"
