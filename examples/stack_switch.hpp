// stack_switch.hpp: switching stacks with ucontext(3) in a way AddressSanitizer and
// ThreadSanitizer can follow, for fibers.cpp. Both track the stack each thread runs on and a bare
// swapcontext() changes it behind their back: ASan may then report false stack errors, TSan may
// mix up the fibers' call stacks. Their documented remedy is to announce every switch, as here.
// ASan still prints a one-line warning that it "doesn't fully support makecontext/swapcontext".
// Without sanitizers the announcements compile to nothing.
#pragma once

#include <ucontext.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <memory>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace example {

// A place code runs on and can be switched to: the thread's own stack, or a new one.
class execution {
public:
	// The thread's own stack, as it runs now.
	execution() noexcept
	{
#if defined(__SANITIZE_THREAD__)
		tsan_fiber_ = __tsan_get_current_fiber();
#endif
	}

	// A new stack of `size` bytes, on which entry() starts at the first switch to it. entry()
	// must call started() first and must end with leave_for_good(), never return.
	execution(void (*entry)(), std::size_t size) : stack_(new std::byte[size]), size_(size)
	{
		// ucontext is obsolescent in POSIX but is what switches stacks in plain C and C++;
		// switching stacks is the point of this example.
		// cppcheck-suppress getcontextCalled
		if (::getcontext(&context_) != 0) {
			std::perror("getcontext");
			std::abort();
		}
		context_.uc_stack.ss_sp = stack_.get();
		context_.uc_stack.ss_size = size_;
		context_.uc_link = nullptr;
		// cppcheck-suppress makecontextCalled
		::makecontext(&context_, entry, 0);
#if defined(__SANITIZE_THREAD__)
		tsan_fiber_ = __tsan_create_fiber(0);
#endif
	}

	~execution()
	{
#if defined(__SANITIZE_THREAD__)
		if (stack_ != nullptr)
			__tsan_destroy_fiber(tsan_fiber_);
#endif
	}

	execution(const execution &) = delete;
	execution &operator=(const execution &) = delete;

	// Suspends the code running here and runs `to`; returns when something switches back.
	void switch_to(execution &to)
	{
		announce_switch(&asan_fake_stack_, to);
		// cppcheck-suppress swapcontextCalled
		if (::swapcontext(&context_, &to.context_) != 0) {
			std::perror("swapcontext");
			std::abort();
		}
		arrived();
	}

	// The last switch away from a stack whose code has ended: nothing comes back here.
	[[noreturn]] void leave_for_good(execution &to)
	{
		announce_switch(nullptr, to); // null: ASan may free this stack's fake frames
		::setcontext(&to.context_);
		std::perror("setcontext");
		std::abort();
	}

	// The first thing an entry() does on its new stack.
	static void started()
	{
		arrived_on(nullptr);
	}

private:
	void announce_switch([[maybe_unused]] void **fake_stack_save,
			     [[maybe_unused]] execution &to)
	{
#if defined(__SANITIZE_ADDRESS__)
		switching_from() = this;
		// The thread's own stack has no known bounds until it was first left (see
		// arrived_on).
		__sanitizer_start_switch_fiber(fake_stack_save, to.asan_bottom(), to.asan_size());
#endif
#if defined(__SANITIZE_THREAD__)
		__tsan_switch_to_fiber(to.tsan_fiber_, 0);
#endif
	}

	void arrived()
	{
		arrived_on(asan_fake_stack_);
	}

	// ASan tells the arriving side the bounds of the stack it left: how we learn the thread's.
	static void arrived_on([[maybe_unused]] void *fake_stack)
	{
#if defined(__SANITIZE_ADDRESS__)
		const void *bottom = nullptr;
		std::size_t size = 0;
		__sanitizer_finish_switch_fiber(fake_stack, &bottom, &size);
		execution *from = switching_from();
		if (from != nullptr && from->stack_ == nullptr) {
			from->thread_bottom_ = bottom;
			from->thread_size_ = size;
		}
#endif
	}

#if defined(__SANITIZE_ADDRESS__)
	static execution *&switching_from()
	{
		static thread_local execution *from = nullptr;
		return from;
	}
	const void *asan_bottom() const
	{
		return stack_ ? stack_.get() : thread_bottom_;
	}
	std::size_t asan_size() const
	{
		return stack_ ? size_ : thread_size_;
	}
#endif

	ucontext_t context_{};
	std::unique_ptr<std::byte[]> stack_; // null: the thread's own
	std::size_t size_ = 0;
	void *asan_fake_stack_ = nullptr;
	const void *thread_bottom_ = nullptr; // the thread's own stack, as ASan reported it
	std::size_t thread_size_ = 0;
	void *tsan_fiber_ = nullptr;
};

} // namespace example
