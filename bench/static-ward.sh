#!/bin/sh
# static-ward.sh BUILDDIR STARTBENCH [ROUNDS] — does linking ward statically
# change what it costs to start? Links the objects meson built in BUILDDIR
# once more with -static (glibc), compiles the same sources with musl-gcc
# (Debian's musl-tools) against the glibc-built libjansson.a plus
# bench/musl-shim.c, and times `ward run --quiet -- /bin/true` for each,
# interleaved with bare /bin/true. An experiment: nothing here is installed.
set -eu
build=$(cd "${1:?usage: static-ward.sh BUILDDIR STARTBENCH [ROUNDS]}" && pwd)
startbench=${2:?usage: static-ward.sh BUILDDIR STARTBENCH [ROUNDS]}
rounds=${3:-100}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
cc=${CC:-cc}
dir=$(mktemp -d /tmp/static-ward.XXXXXX)
trap 'rm -rf "$dir"' EXIT

[ -x "$build/src/cli/ward" ] || {
	echo "static-ward.sh: '$build/src/cli/ward': not built (ninja -C $build)" >&2
	exit 2
}
set -- --cmd "bare=/bin/true" \
       --cmd "glibc-dynamic=$build/src/cli/ward run --quiet -- /bin/true"

$cc -static -o "$dir/ward-glibc-static" "$build"/src/cli/ward.p/*.o \
	"$build/src/lib/libwardcore.a" -ljansson
set -- "$@" --cmd "glibc-static=$dir/ward-glibc-static run --quiet -- /bin/true"

if command -v musl-gcc >/dev/null 2>&1; then
	# musl has no kernel or jansson headers of its own: borrow Debian's.
	mkdir "$dir/inc" "$dir/obj"
	ln -s /usr/include/linux /usr/include/asm-generic \
		/usr/include/jansson.h /usr/include/jansson_config.h "$dir/inc/"
	ln -s /usr/include/x86_64-linux-gnu/asm "$dir/inc/asm"
	# glibc declares sigabbrev_np() in <string.h>; musl-shim.c defines it.
	echo 'const char *sigabbrev_np(int sig);' >"$dir/inc/musl-compat.h"
	for f in "$src"/src/lib/*.c "$src"/src/cli/*.c "$here/musl-shim.c" \
		 "$build"/profiles/*.c; do
		obj=$(echo "${f#"$src"/}" | tr / _)
		musl-gcc -D_GNU_SOURCE -std=gnu11 -O2 -Werror=implicit-function-declaration \
			-include "$dir/inc/musl-compat.h" -I"$build" \
			-I"$src/src/lib" -I"$build/src/lib" -I"$src/src/cli" \
			-isystem "$dir/inc" -c "$f" -o "$dir/obj/$obj.o"
	done
	musl-gcc -static -o "$dir/ward-musl-static" "$dir"/obj/*.o \
		/usr/lib/x86_64-linux-gnu/libjansson.a
	set -- "$@" --cmd "musl-static=$dir/ward-musl-static run --quiet -- /bin/true"
else
	echo "static-ward.sh: 'musl-gcc' not found: install musl-tools for the musl row" >&2
fi
ls -l "$build/src/cli/ward" "$dir"/ward-* | awk '{print "  " $5 " bytes  " $NF}'
"$startbench" --rounds "$rounds" --warmup 5 "$@"
