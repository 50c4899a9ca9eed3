#!/bin/sh
# The copy example copies a file whose size is no multiple of any block or sector byte for byte.
# Usage: copy_test.sh COPY DIRECTORY
set -eu
copy=$1
dir=$(mktemp -d "$2/copy-XXXXXX")
trap 'rm -rf "$dir"' EXIT
# 5 MiB and 12345 bytes: 20 whole blocks, then a last one that is not even whole sectors.
head -c 5255225 /dev/urandom >"$dir/source"
"$copy" "$dir/source" "$dir/destination"
cmp "$dir/source" "$dir/destination"
# An error is one clear line and a failing exit status.
if "$copy" "$dir/missing" "$dir/never" 2>"$dir/error"; then
	echo "FAIL: copying a missing file succeeded"; exit 1
fi
grep -qx "copy: cannot open $dir/missing with O_DIRECT: No such file or directory" "$dir/error"
# A copy onto its own source is refused, and the source keeps every byte.
cp "$dir/source" "$dir/self"
if "$copy" "$dir/self" "$dir/self" 2>"$dir/error"; then
	echo "FAIL: copying a file onto itself succeeded"; exit 1
fi
grep -qx "copy: $dir/self and $dir/self are the same file" "$dir/error"
cmp "$dir/source" "$dir/self"
# A copy that cannot start (no context: an unknown KAIO_BACKEND) leaves the destination as it was.
echo keep >"$dir/kept"
if KAIO_BACKEND=bogus "$copy" "$dir/source" "$dir/kept" 2>/dev/null; then
	echo "FAIL: a copy without a context succeeded"; exit 1
fi
[ "$(cat "$dir/kept")" = keep ] || { echo "FAIL: the destination changed"; exit 1; }
echo "ok: destination identical to the source ($(wc -c <"$dir/destination") bytes)"
