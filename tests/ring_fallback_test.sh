#!/bin/sh
# kaio reads completions from the kernel's ring natively, and falls back to io_getevents under
# valgrind, which cannot see the kernel write the ring; memcheck then finds nothing to report.
# Usage: ring_fallback_test.sh KAIO_LOOP
set -eu
kaio_loop=$1
command -v valgrind >/dev/null || { echo "skip: valgrind is not installed"; exit 77; }
dir=$(mktemp -d "${KAIO_TEST_DIR:-${TMPDIR:-/tmp}}/kaio-ring-XXXXXX")
trap 'rm -rf "$dir"' EXIT
dd if=/dev/zero of="$dir/data" bs=1M count=8 status=none

# The value of "key" in the one-line JSON report $1.
field() { printf '%s\n' "$1" | sed -n "s/.*\"$2\": *\([0-9.]*\).*/\1/p"; }

run() { "$@" --filename="$dir/data" --size=8m --iodepth=8 --number_ios=2000; }

native=$(run "$kaio_loop")
echo "native:   $native"
[ "$(field "$native" ios)" = 2000 ]
[ "$(field "$native" ring_reaps)" -gt 0 ]
[ "$(field "$native" getevents_calls)" = 0 ]

checked=$(run valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$kaio_loop")
echo "valgrind: $checked"
[ "$(field "$checked" ios)" = 2000 ]
[ "$(field "$checked" ring_reaps)" = 0 ]
[ "$(field "$checked" getevents_calls)" -gt 0 ]
echo "ok: ring natively, io_getevents under valgrind, memcheck clean"
