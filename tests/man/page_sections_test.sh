#!/bin/sh
# Usage: page_sections_test.sh PAGE
#
# A section-3 page has exactly the seven sections every function's page has, in this order.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 PAGE" >&2
	exit 2
fi
expected='NAME
SYNOPSIS
DESCRIPTION
RETURN VALUE
ERRORS
NOTES
SEE ALSO'
actual=$(sed -n 's/^\.SH  *//p' "$1" | tr -d '"')
if [ "$actual" != "$expected" ]; then
	echo "FAIL: $1 has the sections"
	echo "$actual" | sed 's/^/  /'
	echo "instead of"
	echo "$expected" | sed 's/^/  /'
	exit 1
fi
echo "ok   $1: $(echo "$expected" | tr '\n' ',' | sed 's/,$//; s/,/, /g')"
