#!/bin/sh
# Usage: pages_match_functions_test.sh INCLUDE_DIR MAN_DIR
#
# Every function that a public C header (INCLUDE_DIR/kaio/*.h) declares has its page
# MAN_DIR/<function>.3, whose NAME section names it; every section-3 page is such a function's.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 INCLUDE_DIR MAN_DIR" >&2
	exit 2
fi
include_dir=$1
man_dir=$2
status=0

fail() {
	echo "FAIL: $*"
	status=1
}

# A declaration starts its line with KAIO_API; its name is the word before the first '('.
declared=$(sed -n 's/^KAIO_API[^(]*[ *]\([A-Za-z_][A-Za-z0-9_]*\)(.*/\1/p' \
	"$include_dir"/kaio/*.h | sort -u)
[ -n "$declared" ] || fail "no KAIO_API function found in $include_dir/kaio/*.h"

for function in $declared; do
	[ -f "$man_dir/$function.3" ] || fail "$function is declared but has no page $function.3"
done

for page in "$man_dir"/*.3; do
	[ -f "$page" ] || continue
	name=$(basename "$page" .3)
	echo "$declared" | grep -qx "$name" ||
		fail "$name.3 is a page of no function that a public header declares"
	# The line after .SH NAME reads "<function> \- <summary>".
	name_line=$(sed -n '/^\.SH NAME$/{n;p;q;}' "$page")
	case $name_line in
	"$name \\- "?*) ;;
	*) fail "$name.3: its NAME section reads '$name_line', not '$name \\- <summary>'" ;;
	esac
done

[ "$status" -eq 0 ] && echo "ok   $(echo "$declared" | wc -l) functions, each with its page"
exit "$status"
