// Which process a context belongs to, without a getpid() system call: a pthread_atfork child
// handler bumps a process-wide generation, and a context remembers the one it was created in.
// After fork() the child has a copy of the parent's contexts, but the kernel's AIO context is
// the parent's alone: the child must neither submit to it nor reap the parent's completions.
#pragma once

#include <atomic>

namespace kaio::detail {

// Written only in a fork child, before it has a second thread; relaxed loads cost a plain load.
extern std::atomic<unsigned> fork_generation;

inline unsigned current_fork_generation() noexcept
{
	return fork_generation.load(std::memory_order_relaxed);
}

} // namespace kaio::detail
