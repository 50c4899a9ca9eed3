#!/bin/sh
# The fiber example's 16 tasks each write their blocks and read them back, one request at a time,
# all through one context whose wait callback switches fibers.
# Usage: fibers_test.sh FIBERS DIRECTORY
set -eu
output=$("$1" "$2/fibers-test.dat")
printf '%s\n' "$output"
whole='^task *[0-9]*: 8 blocks written, 8 read back as written$'
verified=$(printf '%s\n' "$output" | grep -c "$whole" || true)
[ "$verified" = 16 ] || { echo "FAIL: $verified of 16 tasks verified"; exit 1; }
# 16 tasks x (8 writes + 1 fdatasync + 8 reads), by kaio's own count.
printf '%s\n' "$output" | grep -q ': 272 requests;' || { echo "FAIL: not 272 requests"; exit 1; }
[ ! -e "$2/fibers-test.dat" ] || { echo "FAIL: the data file was left behind"; exit 1; }
# A FILE that exists is refused, and kept as it was.
echo keep >"$2/fibers-existing.dat"
if "$1" "$2/fibers-existing.dat" 2>/dev/null; then
	echo "FAIL: an existing file was used"; exit 1
fi
[ "$(cat "$2/fibers-existing.dat")" = keep ] || { echo "FAIL: the existing file changed"; exit 1; }
rm "$2/fibers-existing.dat"
echo "ok"
