#include "fork_generation.hpp"

#include <pthread.h>

namespace kaio::detail {

std::atomic<unsigned> fork_generation{0};

namespace {

void enter_child() noexcept
{
	fork_generation.fetch_add(1, std::memory_order_relaxed);
}

// Registered when the library is loaded, before any context can exist. pthread_atfork fails
// only for want of memory at start-up, when nothing would run anyway.
struct fork_handler_registration {
	fork_handler_registration() noexcept { ::pthread_atfork(nullptr, nullptr, enter_child); }
};

const fork_handler_registration registration;

} // namespace
} // namespace kaio::detail
