#!/bin/sh
# broker.sh — what the broker costs (bench/README.md, "The broker").
#
# usage: bench/broker.sh WARD BROKERBENCH STARTBENCH [ROUNDS]
#
# 1. The round trip of a brokered call: brokerbench (2000 open+close and
#    stat calls) in a box without and with --audit, interleaved for ROUNDS
#    rounds, in three placements: everything on vCPU 0 (shared), the box's
#    thread on vCPU 0 and ward (with its broker thread) on vCPU 1 (split),
#    and unpinned (free).
# 2. python3 -c 'import json, re, email, http.client': bare, in a box, and
#    in a box with --audit, interleaved by startbench.
set -eu
WARD=$1 BB=$2 SB=$3 ROUNDS=${4:-5}
DIR=$(dirname "$(readlink -f "$BB")")
N=2000
echo "# brokered call round trip: $N calls per run, $ROUNDS interleaved rounds, medians in us"
for r in $(seq "$ROUNDS"); do
	for place in shared split free; do
		for mode in plain audit; do
			flag=; [ $mode = audit ] && flag=--audit
			case $place in
			shared) out=$(taskset -c 0 "$WARD" run --quiet $flag --ro "$DIR" -- "$BB" $N 0) ;;
			split) out=$(taskset -c 1 "$WARD" run --quiet $flag --ro "$DIR" -- "$BB" $N 0) ;;
			free) out=$("$WARD" run --quiet $flag --ro "$DIR" -- "$BB" $N) ;;
			esac
			echo "round=$r place=$place mode=$mode $out"
		done
	done
done
echo
echo "# python3 -c 'import json, re, email, http.client': bare / box / box with --audit"
# startbench's --cmd splits on blanks: the code goes in a file.
T=$(mktemp -d /tmp/ward-brokerbench.XXXXXX)
trap 'rm -rf "$T"' EXIT
echo 'import json, re, email, http.client' >"$T/imp.py"
chmod 755 "$T"; chmod 644 "$T/imp.py"
"$SB" --rounds 30 --cmd "bare=/usr/bin/python3 $T/imp.py" \
	--cmd "box=$WARD run --quiet --ro $T -- /usr/bin/python3 $T/imp.py" \
	--cmd "box-audit=$WARD run --quiet --audit --ro $T -- /usr/bin/python3 $T/imp.py"
