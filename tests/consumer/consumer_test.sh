#!/bin/sh
# Builds the consumer programs of this folder (C and C++, shared and static) one way and runs them.
#
# Usage: consumer_test.sh install BUILD_DIR PREFIX
#            installs BUILD_DIR into PREFIX (emptied first), for the modes below
#        consumer_test.sh find-package PREFIX WORK_DIR       CMake, find_package(kaio)
#        consumer_test.sh add-subdirectory SOURCE_DIR WORK_DIR   CMake, add_subdirectory(kaio)
#        consumer_test.sh pkg-config PREFIX WORK_DIR         Makefile, `pkg-config kaio`
# PREFIX may be /usr, where the Debian packages install. $CC and $CXX pick the compilers.
# Exits 0 when every program builds, links as asked and passes; 77 (skip) when a program reports
# skip (no O_DIRECT where it writes); 1 otherwise.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
programs="consumer_c consumer_c_static consumer_cpp consumer_cpp_static"

fail() {
	echo "FAIL: $*"
	exit 1
}

# Runs a command quietly, showing its output only if it fails.
quietly() {
	what=$1
	shift
	log=$work/$(echo "$what" | tr -c 'a-zA-Z0-9\n' '-').log
	"$@" >"$log" 2>&1 || { cat "$log"; fail "$what"; }
}

# The library directory of an installed prefix: where its kaio.pc lies (lib, lib64, lib/<arch>).
libdir_of() {
	for pc in "$1"/lib*/pkgconfig/kaio.pc "$1"/lib/*/pkgconfig/kaio.pc; do
		if [ -f "$pc" ]; then
			(cd "$(dirname "$pc")/.." && pwd)
			return
		fi
	done
	fail "no kaio.pc under $1/lib*"
}

# A shared program needs libkaio.so.<major>; a static one must not need it at all.
check_linkage() {
	program=$1
	needed=$(readelf -d "$program" | grep 'NEEDED.*libkaio' || true)
	case $program in
	*_static) [ -z "$needed" ] || fail "$program is static but needs $needed" ;;
	*) [ -n "$needed" ] || fail "$program does not load libkaio.so" ;;
	esac
}

# Runs every program; a skip (77) ends the whole test as skipped.
run_programs() {
	directory=$1
	for name in $programs; do
		program=$directory/$name
		[ -x "$program" ] || fail "$program was not built"
		check_linkage "$program"
		status=0
		"$program" >"$work/run.log" 2>&1 || status=$?
		if [ "$status" -eq 77 ]; then
			cat "$work/run.log"
			echo "skip: $name reported skip"
			exit 77
		fi
		[ "$status" -eq 0 ] || { cat "$work/run.log"; fail "$name exited with $status"; }
		echo "ok   $name: $(tr '\n' ' ' <"$work/run.log")"
	done
}

configure_and_build() {
	quietly "configure the consumer project" cmake -S "$here" -B "$work/build" \
		-DCMAKE_BUILD_TYPE=Release "$@"
	quietly "build the consumer project" cmake --build "$work/build" --parallel 2
}

# The programs find an installed libkaio.so through the loader's path, as they would outside
# /usr; in /usr they must find it on their own (ldconfig ran when the package installed).
use_libdir() {
	libdir=$(libdir_of "$1")
	if [ "$1" != /usr ]; then
		LD_LIBRARY_PATH=$libdir
		export LD_LIBRARY_PATH
	fi
}

[ $# -eq 3 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
mode=$1
if [ "$mode" = install ]; then
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	rm -rf "$3"
	quietly "cmake --install $2" cmake --install "$2" --prefix "$3"
	echo "ok   installed into $3"
	exit 0
fi
work=$3
rm -rf "$work"
mkdir -p "$work"

case $mode in
find-package)
	use_libdir "$2"
	configure_and_build -DCMAKE_PREFIX_PATH="$2"
	run_programs "$work/build"
	;;
add-subdirectory)
	configure_and_build -DKAIO_SOURCE_DIR="$2"
	run_programs "$work/build"
	;;
pkg-config)
	use_libdir "$2"
	PKG_CONFIG_PATH=$libdir/pkgconfig
	export PKG_CONFIG_PATH
	# The .pc file must describe where it lies, not the prefix the build was configured with.
	pc_libdir=$(pkg-config --variable=libdir kaio)
	[ "$(cd "$pc_libdir" && pwd)" = "$libdir" ] ||
		fail "kaio.pc says libdir=$pc_libdir, but it lies in $libdir"
	quietly "make" make -C "$here" O="$work" all
	run_programs "$work"
	;;
*)
	fail "unknown mode $mode"
	;;
esac
