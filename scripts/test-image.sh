#!/usr/bin/env bash
# Builds the local test image k2d-test/busybox:1 (and :latest) from Debian's busybox-static,
# since no registry is reachable here. Does nothing if the image exists.
set -euo pipefail

IMAGE=k2d-test/busybox
log() { echo "test-image: $*" >&2; }

if docker image inspect "$IMAGE:1" >/dev/null 2>&1; then
    docker image inspect "$IMAGE:latest" >/dev/null 2>&1 || docker tag "$IMAGE:1" "$IMAGE:latest"
    exit 0
fi

BUSYBOX=/bin/busybox
if ! file -L "$BUSYBOX" 2>/dev/null | grep -q "statically linked"; then
    log "ERROR: $BUSYBOX is not the static busybox; run scripts/setup-docker.sh (installs busybox-static)"
    exit 1
fi

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc"
chmod 1777 "$root/tmp"
cp "$BUSYBOX" "$root/bin/busybox"
for applet in $("$BUSYBOX" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
# Enough identity for `id`, `whoami` and runAsUser tests.
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"

log "importing $IMAGE:1"
tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - "$IMAGE:1" >/dev/null
docker tag "$IMAGE:1" "$IMAGE:latest"
log "built $IMAGE:1"
