#!/bin/sh
# libc-start.sh STARTBENCH [ROUNDS] — how much a C library's start-up costs
# here: hello world linked dynamically against glibc, statically against
# glibc, and statically against musl (Debian's musl-tools), timed
# interleaved by startbench. glibc start-up runs 41 cpuid instructions
# here, each trapping to the hypervisor (6.5 us each: bench/README.md).
set -eu
startbench=${1:?usage: libc-start.sh STARTBENCH [ROUNDS]}
rounds=${2:-200}
src=$(dirname "$0")/hello.c
cc=${CC:-cc}
dir=$(mktemp -d /tmp/libc-start.XXXXXX)
trap 'rm -rf "$dir"' EXIT

$cc -O2 -o "$dir/hello-glibc-dynamic" "$src"
$cc -O2 -static -o "$dir/hello-glibc-static" "$src"
set -- --cmd "glibc-dynamic=$dir/hello-glibc-dynamic" \
       --cmd "glibc-static=$dir/hello-glibc-static"
if command -v musl-gcc >/dev/null 2>&1; then
	musl-gcc -O2 -static -o "$dir/hello-musl-static" "$src"
	set -- "$@" --cmd "musl-static=$dir/hello-musl-static"
else
	echo "libc-start.sh: 'musl-gcc' not found: install musl-tools for the musl row" >&2
fi
"$startbench" --rounds "$rounds" --warmup 5 "$@"
