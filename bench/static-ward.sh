#!/bin/sh
# static-ward.sh BUILDDIR STARTBENCH [ROUNDS] — what linking ward statically,
# and with musl, saves at start-up. Times `ward run --quiet -- PAYLOAD` for
# the ward command as built (musl, static, when meson chose it: option
# cli_libc), the static glibc command meson builds beside it (ward-glibc),
# and the same glibc objects linked dynamically here, interleaved with the
# bare payload; for /bin/true and for python3 -c pass.
set -eu
build=$(cd "${1:?usage: static-ward.sh BUILDDIR STARTBENCH [ROUNDS]}" && pwd)
startbench=${2:?usage: static-ward.sh BUILDDIR STARTBENCH [ROUNDS]}
rounds=${3:-60}
cc=${CC:-cc}
dir=$(mktemp -d /tmp/static-ward.XXXXXX)
trap 'rm -rf "$dir"' EXIT

if [ -x "$build/src/cli/ward-glibc" ]; then
	glibc=$build/src/cli/ward-glibc
	musl=$build/src/cli/ward
else
	glibc=$build/src/cli/ward
	musl=
	echo "static-ward.sh: '$build' builds ward with glibc: no musl row (meson option cli_libc)" >&2
fi
[ -x "$glibc" ] || { echo "static-ward.sh: '$glibc': not built (ninja -C $build)" >&2; exit 2; }
$cc -o "$dir/ward-glibc-dynamic" "$glibc.p"/*.o "$build/src/lib/libward.a" -ljansson
ls -l "$dir/ward-glibc-dynamic" "$glibc" $musl | awk '{print "  " $5 " bytes  " $NF}'

# Debian's python3, as in the box (not a shim first on this PATH).
for payload in /bin/true "/usr/bin/python3 -c pass"; do
	set -- --cmd "bare=$payload" \
	       --cmd "glibc-dynamic=$dir/ward-glibc-dynamic run --quiet -- $payload" \
	       --cmd "glibc-static=$glibc run --quiet -- $payload"
	[ -z "$musl" ] || set -- "$@" --cmd "musl-static=$musl run --quiet -- $payload"
	"$startbench" --rounds "$rounds" --warmup 5 "$@"
done
