#!/bin/sh
# The event loop example serves its timer, both ends of its socketpair and kaio's eventfd to the
# end: every tick sent a request, every request became a write and a read, every block came back.
# Usage: epoll_loop_test.sh EPOLL_LOOP DIRECTORY
set -eu
output=$("$1" "$2/epoll_loop-test.dat")
printf '%s\n' "$output"
expect() {
	printf '%s\n' "$output" | grep -q "$1" || { echo "FAIL: expected \"$1\""; exit 1; }
}
expect '^timer ticks: 32; requests sent: 32, received: 32; replies ok: 32$'
# 32 writes and 32 reads, by kaio's own count; the loop never waited inside kaio.
expect '^I/O completions: 64; .*; waits in kaio: 0$'
[ ! -e "$2/epoll_loop-test.dat" ] || { echo "FAIL: the data file was left behind"; exit 1; }
# A FILE that exists is refused, and kept as it was.
echo keep >"$2/epoll_loop-existing.dat"
if "$1" "$2/epoll_loop-existing.dat" 2>/dev/null; then
	echo "FAIL: an existing file was used"; exit 1
fi
[ "$(cat "$2/epoll_loop-existing.dat")" = keep ] || { echo "FAIL: the existing file changed"; exit 1; }
rm "$2/epoll_loop-existing.dat"
echo "ok"
