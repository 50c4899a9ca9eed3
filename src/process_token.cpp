#include "process_token.hpp"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <new>

namespace kaio::detail {
namespace {

std::atomic<std::uint64_t> fallback_token{0};

std::atomic<std::uint64_t> *map_token_page() noexcept
{
	auto page_size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
	void *page = ::mmap(nullptr, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    // cppcheck-suppress invalidFunctionArg ; MAP_ANONYMOUS takes fd -1
			    -1, 0);
	if (page == MAP_FAILED)
		return &fallback_token;
	if (::madvise(page, page_size, MADV_WIPEONFORK) != 0) { // before Linux 4.14
		::munmap(page, page_size);
		return &fallback_token;
	}
	return new (page) std::atomic<std::uint64_t>(0);
}

// The last token made, in this process or in the one it was forked from: a child's is larger
// than every token of its ancestors', so it can never be taken for one of theirs.
std::atomic<std::uint64_t> last_token{0};

void enter_child() noexcept
{
	process_token_location()->store(0, std::memory_order_relaxed);
}

// pthread_atfork fails only for want of memory at start-up, when nothing would run anyway.
struct fork_handler_registration {
	fork_handler_registration() noexcept { ::pthread_atfork(nullptr, nullptr, enter_child); }
};

const fork_handler_registration registration;

} // namespace

std::atomic<std::uint64_t> *process_token_location() noexcept
{
	// On first use: a context made by another library's static initialiser finds it too.
	static std::atomic<std::uint64_t> *const token = map_token_page();
	return token;
}

std::uint64_t process_token() noexcept
{
	std::atomic<std::uint64_t> *token = process_token_location();
	std::uint64_t current = token->load(std::memory_order_relaxed);
	if (current != 0) [[likely]]
		return current;
	std::uint64_t fresh = last_token.fetch_add(1, std::memory_order_relaxed) + 1;
	// Two threads of a new child may race to make it: the first one's stays.
	if (token->compare_exchange_strong(current, fresh, std::memory_order_relaxed))
		return fresh;
	return current;
}

} // namespace kaio::detail
