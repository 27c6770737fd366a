#!/usr/bin/env bash
# Prints k2d's performance figures; never asserts a timing (machines differ, CI boxes are noisy).
#
#   scripts/bench.sh [--json FILE] [BENCHMARK ...]
#
# Benchmarks (default: all, in this order): startup, configmaps, watchers, connect_burst, pods, deployments. The measuring is
# done by scripts/bench/k2dbench.py (Python 3 stdlib); see its docstring to add one.
#
#   K2D_BIN=path      measure this binary instead of building one with `cargo build --release`
#   K2D_BENCH_DIR=d   parent for the scratch dir (default $TMPDIR or /tmp); the store fsyncs,
#                     so the filesystem matters for create and startup figures
#   K2D_LOG_LEVEL     passed to k2d (default warn); its logs are in the scratch dir
#   K2D_BENCH_KEEP=1  keep the scratch dir (data dirs and k2d logs) for a look afterwards
#
# Exit status: 0, or 1 if a benchmark could not run (its row then says ERROR).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"

if [ -z "${K2D_BIN:-}" ]; then
    echo "==> cargo build --release" >&2
    (cd "$REPO" && cargo build --release --locked >&2)
    K2D_BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/k2d"
    LABEL="release build of $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo '+dirty')"
else
    LABEL="$K2D_BIN"
fi
[ -x "$K2D_BIN" ] || { echo "bench: $K2D_BIN is not an executable" >&2; exit 2; }

WORK="$(mktemp -d "${K2D_BENCH_DIR:-${TMPDIR:-/tmp}}/k2d-bench.XXXXXX")"
PY_PID=""

# Ends only what this script started: the Python driver, then any k2d it left behind (it
# records their pids in $WORK/k2d.pids; each is checked to still be our binary first).
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$PY_PID" ] && kill -0 "$PY_PID" 2>/dev/null; then
        kill -TERM "$PY_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$PY_PID" 2>/dev/null || break; sleep 0.1; done
    fi
    if [ -f "$WORK/k2d.pids" ]; then
        while read -r pid; do
            [ -n "$pid" ] || continue
            exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
            case "$exe" in
                "$WORK/k2d"*) kill -KILL "$pid" 2>/dev/null || true ;;
            esac
        done <"$WORK/k2d.pids"
    fi
    if [ "${K2D_BENCH_KEEP:-0}" = 1 ]; then
        echo "bench: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Measure a private copy, so a concurrent `cargo build` cannot swap the binary mid-run.
cp "$K2D_BIN" "$WORK/k2d"

# In the background, so the INT/TERM traps run at once and can stop it (a foreground child
# would delay them until it ends by itself).
python3 "$REPO/scripts/bench/k2dbench.py" --bin "$WORK/k2d" --label "$LABEL" --work "$WORK" "$@" &
PY_PID=$!
rc=0
wait "$PY_PID" || rc=$?
PY_PID=""
exit "$rc"
