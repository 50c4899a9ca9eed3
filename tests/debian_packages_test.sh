#!/bin/sh
# Usage: debian_packages_test.sh BUILD_DIR SOURCE_DIR VERSION
#
# Builds the Debian packages of BUILD_DIR with `cpack -G DEB` and checks what dpkg-deb says of
# them: each package's name, section and dependencies, and that each file lands in the package
# that should ship it (the shared library alone in libkaio; headers, libkaio.a, the libkaio.so
# link, CMake package, kaio.pc and the library man pages in libkaio-dev; the tools and their man
# pages in kaio-tools). Installing them is scripts/release-check's part.
set -eu
if [ $# -ne 3 ]; then
	sed -n '2,9p' "$0" >&2
	exit 2
fi
build_dir=$1
source_dir=$2
version=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/kaio-debs-XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

cpack -G DEB --config "$build_dir/CPackConfig.cmake" -B "$work" >"$work/cpack.log" 2>&1 ||
	{ cat "$work/cpack.log"; echo "FAIL: cpack -G DEB"; exit 1; }

# package FIELD EXTENDED-REGEX: the control field matches.
expect_field() {
	deb=$work/$1_${version}_amd64.deb
	value=$(dpkg-deb -f "$deb" "$2")
	if echo "$value" | grep -Eq "$3"; then
		echo "ok   $1 $2: $value"
	else
		fail "$1 $2 is '$value', expected to match '$3'"
	fi
}

# package yes|no EXTENDED-REGEX: the package does (not) ship a path that matches.
expect_file() {
	deb=$work/$1_${version}_amd64.deb
	if dpkg-deb -c "$deb" | awk '{ print $6 }' | grep -Eq "$3"; then found=yes; else found=no; fi
	if [ "$found" = "$2" ]; then
		echo "ok   $1 ships $3: $found"
	else
		fail "$1 ships $3: $found, expected $2"
	fi
}

for package in libkaio libkaio-dev kaio-tools; do
	[ -f "$work/${package}_${version}_amd64.deb" ] || fail "no ${package}_${version}_amd64.deb"
done
[ "$failures" -eq 0 ] || { ls "$work"; exit 1; }

lib='usr/lib(/[a-z0-9_-]+)?'
expect_field libkaio Section '^libs$'
expect_field libkaio Depends '(^|, )libaio1( |,|$)'
expect_file libkaio yes "^\./$lib/libkaio\.so\.0$"
expect_file libkaio yes "^\./$lib/libkaio\.so\.$version$"
expect_file libkaio no '\.(a|h|hpp|pc|cmake)$|libkaio\.so$|/bin/'
dpkg-deb -I "$work/libkaio_${version}_amd64.deb" shlibs | grep -q "^libkaio 0 libkaio (>= $version)" &&
	echo "ok   libkaio shlibs names libkaio 0" || fail "libkaio has no shlibs entry for libkaio.so.0"

expect_field libkaio-dev Section '^libdevel$'
expect_field libkaio-dev Depends "(^|, )libkaio \(= $version\)(,|$)"
expect_field libkaio-dev Depends '(^|, )libaio-dev( |,|$)'
# libkaio.a needs -luring as much as -laio: a static link in a clean root proved it.
expect_field libkaio-dev Depends '(^|, )liburing-dev( |,|$)'
for header in "$source_dir"/include/kaio/* "$build_dir"/include/kaio/version.h; do
	expect_file libkaio-dev yes "^\./usr/include/kaio/$(basename "$header")$"
done
expect_file libkaio-dev yes "^\./$lib/libkaio\.a$"
expect_file libkaio-dev yes "^\./$lib/libkaio\.so$"
expect_file libkaio-dev yes "^\./$lib/cmake/kaio/kaioConfig\.cmake$"
expect_file libkaio-dev yes "^\./$lib/pkgconfig/kaio\.pc$"
for page in "$source_dir"/man/*.3 "$source_dir"/man/*.7; do
	[ -f "$page" ] || continue
	name=$(basename "$page")
	expect_file libkaio-dev yes "^\./usr/share/man/man${name##*.}/$name$"
done
expect_file libkaio-dev no 'libkaio\.so\.|/bin/'

expect_field kaio-tools Section '^utils$'
expect_field kaio-tools Depends '(^|, )libaio1( |,|$)'
for tool in kaio-bench kaio-cp; do
	expect_file kaio-tools yes "^\./usr/bin/$tool$"
	expect_file kaio-tools yes "^\./usr/share/man/man1/$tool\.1$"
done
expect_file kaio-tools no '/include/|/lib/'

[ "$failures" -eq 0 ] || { echo "$failures checks failed"; exit 1; }
echo "all package checks passed"
