#!/bin/sh
# Usage: pages_match_functions_test.sh MAN_DIR INCLUDE_DIR...
#
# Every function that a public C header (INCLUDE_DIR/kaio/*.h, in the source tree or generated
# in the build tree) declares has its page MAN_DIR/<function>.3, whose NAME section names it;
# every section-3 page is such a function's.
set -eu

if [ $# -lt 2 ]; then
	echo "usage: $0 MAN_DIR INCLUDE_DIR..." >&2
	exit 2
fi
man_dir=$1
shift
status=0

fail() {
	echo "FAIL: $*"
	status=1
}

# A declaration starts its line with KAIO_API; its name is the word before the first '('.
headers=$(find "$@" -path '*/kaio/*.h' -type f 2>/dev/null | sort)
declared=$(echo "$headers" | xargs sed -n 's/^KAIO_API[^(]*[ *]\([A-Za-z_][A-Za-z0-9_]*\)(.*/\1/p' |
	sort -u)
[ -n "$declared" ] || fail "no KAIO_API function found in kaio/*.h under $*"

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

[ "$status" -eq 0 ] && echo "ok   $(echo "$declared" | wc -l) functions, each with its page:" $headers
exit "$status"
