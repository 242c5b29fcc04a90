#!/usr/bin/env bash
# Print the bundle's unpacked size and its start-up time against the source
# tree's: each run is `--screenshot` under QT_QPA_PLATFORM=offscreen, timed
# from launch to exit (wall clock) and by the app's own "populated after
# X s" figure (process start to a window whose panels all show data).  It
# prints the conditions (cores, CPU, load average, warm cache) first: a
# figure quoted without them means little on a shared machine.
#
#   packaging/measure.sh [RUNS]        (default 3 runs of each)
#
# Needs dist/khgui/ (packaging/build.sh) and a Python that can run the source
# tree: $SOURCE_PYTHON, else .venv/bin/python, else build/packaging-venv/bin/python.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

runs=${1:-3}
bundle=dist/khgui/khgui
[ -x "$bundle" ] || { echo "packaging/measure.sh: no $bundle; run packaging/build.sh first" >&2; exit 1; }
src_py=${SOURCE_PYTHON:-}
if [ -z "$src_py" ]; then
    for candidate in .venv/bin/python build/packaging-venv/bin/python; do
        if [ -x "$candidate" ]; then src_py=$candidate; break; fi
    done
fi
[ -n "$src_py" ] || { echo "packaging/measure.sh: no Python for the source run; set SOURCE_PYTHON" >&2; exit 1; }

export QT_QPA_PLATFORM=offscreen
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

kib=$(du -sk dist/khgui | cut -f1)
awk -v k="$kib" 'BEGIN { printf "bundle size: %.1f MiB unpacked (dist/khgui)\n", k / 1024 }'
echo "largest parts:"
(cd dist/khgui && du -sk khgui _internal/* | sort -rn | head -8 |
    awk '{ printf "  %7.1f MiB  %s\n", $1 / 1024, $2 }')

# one LABEL CMD...: run CMD once, print "LABEL wall populated" in seconds.
one() {
    local label=$1; shift
    local t0 t1 line
    t0=$(date +%s.%N)
    line=$(timeout 120 "$@" --screenshot "$out/$label.png" 2>"$out/err") || {
        echo "packaging/measure.sh: $label run failed: $(tail -1 "$out/err")" >&2; exit 1; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" -v l="$label" -v s="$line" 'BEGIN {
        p = "?"; if (match(s, /populated after [0-9.]+/)) p = substr(s, RSTART + 16, RLENGTH - 16)
        printf "%s %.2f %s\n", l, b - a, p }'
}

# The conditions a start-up figure depends on: quote them with it.
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//')
echo "conditions: $(nproc) cores (${cpu:-unknown CPU}), load average $(cut -d' ' -f1-3 /proc/loadavg) before," \
     "warm page cache (one untimed run of each first), QT_QPA_PLATFORM=offscreen, 32-node lab"
results=$out/results
# Warm both up once (page cache, Python bytecode), then alternate.
one bundle "$bundle" >/dev/null
one source "$src_py" -m khgui >/dev/null
for _ in $(seq "$runs"); do
    one bundle "$bundle" >>"$results"
    one source "$src_py" -m khgui >>"$results"
done
echo "start-up, $runs warm runs each (seconds; launch to exit / launch to populated window):"
awk '{ w[$1] = w[$1] " " $2; p[$1] = p[$1] " " $3; sw[$1] += $2; sp[$1] += $3; n[$1]++ }
     END { for (k in n) printf "  %-6s wall%s (mean %.2f); populated%s (mean %.2f)\n",
                                k, w[k], sw[k] / n[k], p[k], sp[k] / n[k] }' "$results" | sort
# Interpreter start-up alone (--help exits before Qt is imported).
help_time() {
    local t0 t1
    t0=$(date +%s.%N)
    for _ in 1 2 3 4 5; do "$@" --help >/dev/null; done
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 5 }'
}
echo "interpreter start-up (--help, mean of 5): bundle $(help_time "$bundle") s, source $(help_time "$src_py" -m khgui) s"
echo "source run: $src_py -m khgui (from $(pwd)); load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
