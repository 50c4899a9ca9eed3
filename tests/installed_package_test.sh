#!/bin/sh
# Usage: installed_package_test.sh BUILD_DIR C_SOURCE
#
# Installs BUILD_DIR into a scratch prefix and uses the result as users do:
#   1. C_SOURCE compiled as C99 with `pkg-config --cflags --libs kaio`, run against libkaio.so;
#   2. the same linked statically against libkaio.a with `pkg-config --static --libs kaio`;
#   3. tests/consumer configured with find_package(kaio), built with kaio::kaio and
#      kaio::kaio_static.
# Exits 0 when all three build and pass, 77 (skip) when a program reports skip, else 1.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILD_DIR C_SOURCE" >&2
	exit 2
fi
build_dir=$1
c_source=$2
consumer_source=$(cd "$(dirname "$0")" && pwd)/consumer
cc=${CC:-cc}

work=$(mktemp -d "${TMPDIR:-/tmp}/kaio-package-XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM
prefix=$work/prefix

fail() {
	echo "FAIL: $*"
	exit 1
}

# Runs a built program; a skip (77) ends the whole test as skipped.
run_program() {
	what=$1
	shift
	status=0
	"$@" >"$work/run.log" 2>&1 || status=$?
	if [ "$status" -eq 77 ]; then
		cat "$work/run.log"
		echo "skip: $what reported skip"
		exit 77
	fi
	if [ "$status" -ne 0 ]; then
		cat "$work/run.log"
		fail "$what exited with $status"
	fi
	tail -n 1 "$work/run.log"
	echo "ok   $what"
}

echo "== install into $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log"; fail "cmake --install"; }

# GNUInstallDirs picks lib, lib64 or lib/<multiarch>: take the directory the file really is in.
pc_file=$(find "$prefix" -path '*/pkgconfig/kaio.pc' | head -n 1)
[ -n "$pc_file" ] || fail "no pkgconfig/kaio.pc under $prefix"
libdir=$(cd "$(dirname "$pc_file")/.." && pwd)
[ -f "$libdir/libkaio.a" ] || fail "no libkaio.a beside $pc_file"
[ -f "$prefix/include/kaio/io_ctx.h" ] || fail "no include/kaio/io_ctx.h under $prefix"
echo "ok   installed: $libdir, $prefix/include"

PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_PATH
pkg-config --exists kaio || fail "pkg-config finds no kaio in $PKG_CONFIG_PATH"
# The .pc file must describe this prefix, not the one the build was configured with.
pc_libdir=$(pkg-config --variable=libdir kaio)
pc_includedir=$(pkg-config --variable=includedir kaio)
[ "$(cd "$pc_libdir" 2>/dev/null && pwd)" = "$libdir" ] ||
	fail "kaio.pc says libdir=$pc_libdir, but the library is in $libdir"
[ "$(cd "$pc_includedir" 2>/dev/null && pwd)" = "$prefix/include" ] ||
	fail "kaio.pc says includedir=$pc_includedir, but the headers are in $prefix/include"
echo "ok   kaio.pc points into the prefix"

cflags=$(pkg-config --cflags kaio)
libs=$(pkg-config --libs kaio)
static_libs=$(pkg-config --static --libs kaio)

echo "== C99 program, shared library: $cflags $libs"
# shellcheck disable=SC2086 # pkg-config output is a list of words
"$cc" -std=c99 -Wall -Werror -pedantic -o "$work/c_shared" "$c_source" $cflags $libs ||
	fail "compiling $c_source against libkaio.so"
run_program "C99 program against libkaio.so" env LD_LIBRARY_PATH="$libdir" "$work/c_shared"

echo "== C99 program, static library: $cflags $static_libs"
# Only libkaio is forced static; its private dependencies (libaio, libstdc++) stay shared.
static_link=
for word in $static_libs; do
	case $word in
	-lkaio) static_link="$static_link -Wl,-Bstatic -lkaio -Wl,-Bdynamic" ;;
	*) static_link="$static_link $word" ;;
	esac
done
# shellcheck disable=SC2086
"$cc" -std=c99 -Wall -Werror -pedantic -o "$work/c_static" "$c_source" $cflags $static_link ||
	fail "linking $c_source against libkaio.a"
if command -v readelf >/dev/null 2>&1 && readelf -d "$work/c_static" | grep -q 'libkaio'; then
	fail "the static program still needs libkaio.so"
fi
run_program "C99 program linked with libkaio.a" "$work/c_static"

echo "== CMake consumer: find_package(kaio), kaio::kaio"
cmake -S "$consumer_source" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_BUILD_TYPE=Release >"$work/consumer.log" 2>&1 ||
	{ cat "$work/consumer.log"; fail "configuring the consumer project"; }
cmake --build "$work/consumer" -j 2 >>"$work/consumer.log" 2>&1 ||
	{ cat "$work/consumer.log"; fail "building the consumer project"; }
run_program "CMake consumer with kaio::kaio" env LD_LIBRARY_PATH="$libdir" \
	"$work/consumer/kaio_consumer"
if command -v readelf >/dev/null 2>&1 &&
	readelf -d "$work/consumer/kaio_consumer_static" | grep -q 'libkaio'; then
	fail "the consumer linked with kaio::kaio_static still needs libkaio.so"
fi
run_program "CMake consumer with kaio::kaio_static" "$work/consumer/kaio_consumer_static"

echo "all installed-package checks passed"
