#!/bin/sh
# serve-load.sh BUILDDIR [SECONDS [MODES]] — ward serve under load:
# requests/s and p50/p99 latency of POST /api/v2/execute for python
# print(1) and a C program (compiled in one box, run in another), at 1, 16
# and 64 concurrent clients, each point SECONDS long (default 10), with
# `hey` (Debian package hey; not in tools/setup: CI does not run this).
#
# MODES (default "fresh pooled zygote"): fresh boxes per stage
# (warm_boxes 0), warm pools without a zygote (zygote false), and the
# default: pools, python's forked from a zygote. The server is started
# anew for each mode.
# The server's queue is made large enough for 64 clients, so that a 503
# would show a fault, not the configured back-pressure; the non-200
# answers are counted and printed.
set -eu
build=$(cd "${1:?usage: serve-load.sh BUILDDIR [SECONDS [MODES]]}" && pwd)
secs=${2:-10}
modes=${3:-fresh pooled zygote}
ward=$build/src/cli/ward
command -v hey >/dev/null || { echo "serve-load.sh: hey not found (apt-get install hey)" >&2; exit 2; }
[ -x "$ward" ] || { echo "serve-load.sh: '$ward': not built" >&2; exit 2; }
dir=$(mktemp -d /tmp/serve-load.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

workers=$(nproc)
run_mode() {
mode=$1
case $mode in
fresh) warm='"warm_boxes": 0' ;;
pooled) warm='"zygote": false' ;;
zygote) warm='"zygote": true' ;;
*) echo "serve-load.sh: unknown mode '$mode' (fresh, pooled or zygote)" >&2; exit 2 ;;
esac
printf '{"workers": %s, "queue": 256, "max_connections_per_ip": 256, %s}\n' "$workers" "$warm" >"$dir/config.json"
: >"$dir/log"
"$ward" serve --listen 127.0.0.1:0 --config "$dir/config.json" 2>"$dir/log" &
pid=$!
port=
for _ in $(seq 1 300); do
	port=$(sed -n 's/.*serving on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/log" | head -n1)
	[ -n "$port" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$dir/log" >&2; exit 1; }
	sleep 0.1
done
[ -n "$port" ] || { echo "serve-load.sh: ward serve did not start" >&2; exit 1; }

printf '%s' '{"language":"python","version":"*","files":[{"content":"print(1)"}]}' >"$dir/python.json"
printf '%s' '{"language":"c","version":"*","files":[{"name":"main.c","content":"#include <stdio.h>\nint main(void) { puts(\"1\"); return 0; }\n"}]}' >"$dir/c.json"

# warm-up: each payload's pools made and filled before the measured points
for payload in python c; do
	hey -n 4 -c 2 -t 60 -m POST -T application/json -D "$dir/$payload.json" \
		"http://127.0.0.1:$port/api/v2/execute" >/dev/null 2>&1 || true
done
sleep 2
echo "# ward serve, $workers workers, $mode boxes, ${secs}s per point; $(uname -r), $(nproc) CPUs"
printf '%-8s %8s %10s %10s %10s %10s  %s\n' payload clients 'req/s' 'p50 ms' 'p99 ms' 'non-200' 'load avg (1 5 15)'
for payload in python c; do
	for c in 1 16 64; do
		# one line per request (csv): its latency (s) and status; the
		# percentiles by nearest rank, here, since hey's summary omits
		# the ones it has too few samples for
		hey -z "${secs}s" -c "$c" -t 60 -o csv -m POST -T application/json -D "$dir/$payload.json" \
			"http://127.0.0.1:$port/api/v2/execute" >"$dir/out" 2>"$dir/err" || true
		awk -F, 'NR > 1 && $1 ~ /^[0-9.]+$/ {print $1 * 1000}' "$dir/out" | sort -n >"$dir/lat"
		n=$(wc -l <"$dir/lat")
		rps=$(awk -v n="$n" -v s="$secs" 'BEGIN {printf "%.1f", n / s}')
		p50=$(awk -v n="$n" 'NR == int((n * 50 + 99) / 100) {printf "%.0f", $1}' "$dir/lat")
		p99=$(awk -v n="$n" 'NR == int((n * 99 + 99) / 100) {printf "%.0f", $1}' "$dir/lat")
		bad=$(awk -F, 'NR > 1 && $7 != 200 {n++} END {print n + 0}' "$dir/out")
		errs=$(grep -c . "$dir/err" || true)
		load=$(cut -d' ' -f1-3 /proc/loadavg)
		printf '%-8s %8s %10s %10s %10s %10s  %s\n' "$payload" "$c" "${rps:-?}" "${p50:-?}" \
			"${p99:-?}" "$((bad + errs))" "$load"
	done
done
kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
pid=
}

for m in $modes; do
	run_mode "$m"
done
