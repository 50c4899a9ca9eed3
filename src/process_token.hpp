// Which process a context belongs to, without a getpid() system call: each process has a token,
// a number that is 0 in any child until the child asks for its own, and a context remembers the
// token of the process that created it. After fork() the child has a copy of the parent's
// contexts, but the kernel's AIO context is the parent's alone: the child must neither submit
// to it nor reap the parent's completions.
//
// The token lives in a page mapped MADV_WIPEONFORK, which the kernel hands every child zeroed,
// however it was made (fork, _Fork, a raw clone without CLONE_VM); a pthread_atfork handler
// zeroes it too, for where that page could not be had.
#pragma once

#include <atomic>
#include <cstdint>

namespace kaio::detail {

// Where this process's token is; never null.
std::atomic<std::uint64_t> *process_token_location() noexcept;

// This process's token, made on the first call in each process; never 0.
std::uint64_t process_token() noexcept;

} // namespace kaio::detail
