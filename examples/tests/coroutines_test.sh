#!/bin/sh
# The coroutine example reads a file with co_await to its end: its checksum and size are those
# cksum(1) computes on its own.
# Usage: coroutines_test.sh COROUTINES DIRECTORY
set -eu
dir=$(mktemp -d "$2/coroutines-XXXXXX")
trap 'rm -rf "$dir"' EXIT
# 3 MiB and 1000 bytes: several whole reads, then a short one at the end of the file.
head -c 3146728 /dev/urandom >"$dir/data"
ours=$("$1" "$dir/data")
theirs=$(cksum "$dir/data")
echo "coroutines: $ours"
echo "cksum:      $theirs"
[ "$ours" = "$theirs" ]
echo "ok"
