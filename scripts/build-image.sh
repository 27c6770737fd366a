#!/usr/bin/env bash
# Builds the k2d container image (default tag k2d:dev) around the static binary in dist/.
# Usage: scripts/build-image.sh [tag]   env: K2D_ARCH=x86_64|aarch64 (default: this machine's)
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
TAG="${1:-k2d:dev}"
ARCH="${K2D_ARCH:-$(uname -m)}"
case "$ARCH" in
    x86_64 | amd64) ARCH=x86_64; PLATFORM=linux/amd64 ;;
    aarch64 | arm64) ARCH=aarch64; PLATFORM=linux/arm64 ;;
    *) echo "build-image: unsupported architecture $ARCH" >&2; exit 2 ;;
esac

[ -x "dist/k2d-$ARCH" ] || scripts/build-static.sh "$ARCH"

docker build --quiet --platform "$PLATFORM" --build-arg "K2D_ARCH=$ARCH" -t "$TAG" . >&2
echo "build-image: built $TAG ($PLATFORM) from dist/k2d-$ARCH" >&2
