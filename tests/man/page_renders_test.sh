#!/bin/sh
# Usage: page_renders_test.sh PAGE
#
# man(1) renders PAGE as a reader would see it, with every groff warning turned on and none given.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 PAGE" >&2
	exit 2
fi
page=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/kaio-man-XXXXXX")
trap 'rm -rf "$work"' EXIT

status=0
MANPAGER=cat MANWIDTH=100 man --warnings=w -l "$page" >"$work/out" 2>"$work/err" || status=$?
if [ "$status" -ne 0 ] || [ -s "$work/err" ]; then
	cat "$work/err"
	echo "FAIL: man -l $page exited with $status"
	exit 1
fi
grep -q '^NAME$' "$work/out" || { echo "FAIL: man -l $page shows no NAME section"; exit 1; }
echo "ok   man -l $page: $(wc -l <"$work/out") lines, no warning"
