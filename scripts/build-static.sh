#!/usr/bin/env bash
# Builds static musl release binaries into dist/: dist/k2d-x86_64 and dist/k2d-aarch64.
# Usage: scripts/build-static.sh [x86_64] [aarch64]   (default: both)
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(x86_64 aarch64)

log() { echo "build-static: $*" >&2; }

need_pkg() { # file-that-proves-it package...
    [ -e "$1" ] && return 0
    shift
    log "installing $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 || {
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
    }
}

installed_targets="$(rustup target list --installed)"
for arch in "${ARCHES[@]}"; do
    target="$arch-unknown-linux-musl"
    case "$arch" in
        x86_64)
            # ring compiles C and assembly for the target.
            need_pkg /usr/bin/musl-gcc musl-tools
            export CC_x86_64_unknown_linux_musl=musl-gcc
            ;;
        aarch64)
            # The cross compiler's own libc headers are enough for ring's freestanding C.
            need_pkg /usr/aarch64-linux-gnu/include/stdint.h gcc-aarch64-linux-gnu libc6-dev-arm64-cross
            export CC_aarch64_unknown_linux_musl=aarch64-linux-gnu-gcc
            export AR_aarch64_unknown_linux_musl=aarch64-linux-gnu-ar
            ;;
        *) log "unknown architecture $arch (x86_64 or aarch64)"; exit 2 ;;
    esac
    grep -qx "$target" <<<"$installed_targets" || rustup target add "$target" >&2

    log "cargo build --release --target $target"
    cargo build --release --locked --target "$target" >&2
    mkdir -p dist
    cp "$TARGET_DIR/$target/release/k2d" "dist/k2d-$arch"

    desc="$(file -b "dist/k2d-$arch")"
    case "$desc" in
        *"statically linked"* | *"static-pie linked"*) ;;
        *) log "ERROR: dist/k2d-$arch is not static: $desc"; exit 1 ;;
    esac
    log "dist/k2d-$arch: $(stat -c %s "dist/k2d-$arch") bytes; $desc"
done
