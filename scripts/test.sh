#!/usr/bin/env bash
# THE test command: prerequisites, unit + integration tests against the real Docker, format
# and lint, then the static-binary/qemu/image checks.
#   K2D_SKIP_STATIC=1  skips the slow static builds and their checks (local loops only;
#                      CI runs everything).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"

step() { printf '\n==> %s\n' "$*" >&2; }

step "Docker and test prerequisites"
scripts/setup-docker.sh
scripts/test-image.sh

step "kubectl versions"
K2D_KUBECTL_120="$(scripts/kubectl-versions.sh)"
export K2D_KUBECTL_120
echo "K2D_KUBECTL_120=$K2D_KUBECTL_120" >&2

step "cargo test"
cargo test --locked --all-targets

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy"
cargo clippy --locked --all-targets -- -D warnings

if [ "${K2D_SKIP_STATIC:-0}" = 1 ]; then
    step "static binaries, qemu and image checks SKIPPED (K2D_SKIP_STATIC=1)"
else
    step "static binaries, qemu and image"
    scripts/check-static.sh
fi

step "all tests passed"
