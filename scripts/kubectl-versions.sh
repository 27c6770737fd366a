#!/usr/bin/env bash
# Makes kubectl 1.20 available without touching /usr/bin/kubectl (Debian's kubernetes-client
# package would replace the version dispatcher there): the .deb is downloaded and unpacked
# into a cache directory. Prints the path of the 1.20 binary on stdout.
# kubectl 1.27-1.33 are already installed as /usr/lib/google-cloud-sdk/bin/kubectl.1.NN.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="${K2D_TOOLS_DIR:-$REPO/target/tools}"
DEST="$TOOLS/kubectl-1.20"
KUBECTL="$DEST/usr/bin/kubectl"

log() { echo "kubectl-versions: $*" >&2; }

if [ ! -x "$KUBECTL" ]; then
    mkdir -p "$TOOLS"
    work="$(mktemp -d "$TOOLS/dl.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    log "downloading Debian's kubernetes-client"
    if ! (cd "$work" && apt-get download kubernetes-client >&2); then
        # The package lists may never have been fetched on a fresh machine.
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        (cd "$work" && apt-get download kubernetes-client >&2)
    fi
    rm -rf "$DEST"
    dpkg -x "$work"/kubernetes-client_*.deb "$DEST"
fi

version="$("$KUBECTL" version --client 2>/dev/null | head -n 1 || true)"
case "$version" in
    *v1.20.*) ;;
    *) log "ERROR: $KUBECTL is not kubectl 1.20 ($version)"; exit 1 ;;
esac

for minor in 27 28 29 30 31 32 33; do
    [ -x "/usr/lib/google-cloud-sdk/bin/kubectl.1.$minor" ] ||
        log "warning: /usr/lib/google-cloud-sdk/bin/kubectl.1.$minor is missing"
done

echo "$KUBECTL"
