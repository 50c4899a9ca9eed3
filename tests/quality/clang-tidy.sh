#!/usr/bin/env bash
# clang-tidy with the repository's .clang-tidy over every source of the library (with the C API
# shim) and of the tools, two files at a time; any finding fails. The static analyzer
# (clang-analyzer-*) is three quarters of the cost, so it reads the library, whose paths through
# the kernel are the subtle ones, and not the tools, whose tests run under ASan and UBSan.
# Usage: clang-tidy.sh CLANG_TIDY SOURCE_DIR BUILD_DIR (BUILD_DIR holds compile_commands.json)
set -euo pipefail
clang_tidy=$1
build=$3
cd "$2"
tidy() {
	# Clang's "N warnings generated." counts the silenced warnings of system headers: noise.
	xargs -0 -n1 -P2 "$clang_tidy" -p "$build" --quiet "$@" 2>&1 |
		{ grep -v '^[0-9]* warnings\? generated\.$' || true; }
}
git ls-files -z -- 'src/*.cpp' | tidy
git ls-files -z -- 'tools/*.cpp' | tidy --checks=-clang-analyzer-*
