#!/bin/sh
# Usage: installed_pages_test.sh BUILD_DIR MAN_SOURCE_DIR MANDIR VERSION WITH_TOOLS \
#                                 LIBRARY_COMPONENT TOOLS_COMPONENT
#
# Installs BUILD_DIR into scratch prefixes and checks that every page of MAN_SOURCE_DIR lands in
# PREFIX/MANDIR/manN after its section, with VERSION in its title line:
#   1. the whole install: sections 1 (when WITH_TOOLS is ON), 3 and 7;
#   2. LIBRARY_COMPONENT (the library's development package): sections 3 and 7, no section 1;
#   3. TOOLS_COMPONENT (when WITH_TOOLS is ON): section 1, no section 3 or 7.
set -eu

if [ $# -ne 7 ]; then
	echo "usage: $0 BUILD_DIR MAN_SOURCE_DIR MANDIR VERSION WITH_TOOLS" \
		"LIBRARY_COMPONENT TOOLS_COMPONENT" >&2
	exit 2
fi
build_dir=$1
source_dir=$2
mandir=$3
version=$4
with_tools=$5
library_component=$6
tools_component=$7

work=$(mktemp -d "${TMPDIR:-/tmp}/kaio-man-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM
status=0

fail() {
	echo "FAIL: $*"
	status=1
}

install_into() {
	prefix=$work/$1
	shift
	cmake --install "$build_dir" --prefix "$prefix" "$@" >"$work/install.log" 2>&1 ||
		{ cat "$work/install.log"; echo "FAIL: cmake --install $*"; exit 1; }
}

# Every source page of the given sections is installed under $prefix, version filled in.
expect_pages() {
	for section in "$@"; do
		for page in "$source_dir"/*."$section"; do
			[ -f "$page" ] || continue
			installed=$prefix/$mandir/man$section/$(basename "$page")
			if [ ! -f "$installed" ]; then
				fail "$(basename "$page") is not installed as $installed"
			elif ! sed -n 1,20p "$installed" | grep -q "^\.TH .*\"kaio $version\""; then
				fail "$installed does not say \"kaio $version\" in its .TH line"
			fi
		done
	done
}

# No page of the given sections is installed under $prefix.
expect_no_pages() {
	for section in "$@"; do
		found=$(find "$prefix" -path "*/man$section/*" -type f | head -n 1)
		[ -z "$found" ] || fail "$found is installed but belongs to another component"
	done
}

tool_sections=
[ "$with_tools" = ON ] && tool_sections=1

echo "== cmake --install"
install_into all
expect_pages $tool_sections 3 7

echo "== cmake --install --component $library_component"
install_into library --component "$library_component"
expect_pages 3 7
expect_no_pages 1

if [ "$with_tools" = ON ]; then
	echo "== cmake --install --component $tools_component"
	install_into tools --component "$tools_component"
	expect_pages 1
	expect_no_pages 3 7
fi

[ "$status" -eq 0 ] && echo "ok   every page installed in $mandir/man1, man3 and man7"
exit "$status"
