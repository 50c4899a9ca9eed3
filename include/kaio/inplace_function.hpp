// A move-only callable stored inside the object: no heap allocation, ever. kaio keeps one per
// request slot, so submitting a request with a lambda costs a copy of its captures and nothing
// more. A callable larger than the storage is a compile-time error, not a silent allocation.
#pragma once

#include <cstddef>
#include <cstring>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>

namespace kaio {

template <class Signature, std::size_t Capacity>
class inplace_function;

namespace detail {
// Wrappers that may hold nothing: an empty one makes an empty inplace_function, as a null
// pointer does, rather than one that calls nothing (std::bad_function_call, or a null call).
template <class T>
inline constexpr bool is_function_wrapper = false;
template <class Signature>
inline constexpr bool is_function_wrapper<std::function<Signature>> = true;
template <class Signature, std::size_t Capacity>
inline constexpr bool is_function_wrapper<inplace_function<Signature, Capacity>> = true;
} // namespace detail

template <class R, class... Args, std::size_t Capacity>
class inplace_function<R(Args...), Capacity> {
public:
	static constexpr std::size_t capacity = Capacity;

	inplace_function() noexcept = default;
	// Implicit, as std::function's: `callback = nullptr` and passing nullptr empty it.
	// NOLINTNEXTLINE(google-explicit-constructor)
	inplace_function(std::nullptr_t) noexcept {}

	template <class F, class D = std::decay_t<F>>
		requires(!std::is_same_v<D, inplace_function> &&
			 std::is_invocable_r_v<R, D &, Args...>)
	// Implicit: a callable converts, as to std::function. The requires clause leaves copies and
	// moves to their own constructors, which clang-tidy 14 does not see.
	// NOLINTNEXTLINE(google-explicit-constructor,bugprone-forwarding-reference-overload)
	inplace_function(F &&callable) { construct(std::forward<F>(callable)); }

	// Builds the callable in place, without a temporary inplace_function to move from.
	template <class F, class D = std::decay_t<F>>
		requires(!std::is_same_v<D, inplace_function> &&
			 std::is_invocable_r_v<R, D &, Args...>)
	inplace_function &operator=(F &&callable)
	{
		reset();
		construct(std::forward<F>(callable));
		return *this;
	}

	inplace_function(inplace_function &&other) noexcept { take(other); }

	inplace_function &operator=(inplace_function &&other) noexcept
	{
		if (this != &other) {
			reset();
			take(other);
		}
		return *this;
	}

	inplace_function(const inplace_function &) = delete;
	inplace_function &operator=(const inplace_function &) = delete;

	~inplace_function() { reset(); }

	explicit operator bool() const noexcept { return invoke_ != nullptr; }

	R operator()(Args... args) { return invoke_(storage_, std::forward<Args>(args)...); }

	// Empties this object, then calls what it held from a copy moved out first: the call may
	// store a new callable here (a request's callback reusing its own slot). Must not be empty.
	R call_moved_out(Args... args)
	{
		if (manage_ != nullptr) {
			inplace_function moved(std::move(*this));
			return moved(std::forward<Args>(args)...);
		}
		// Trivially copyable: its bytes are the copy, and nothing is left to destroy here.
		alignas(storage_alignment) std::byte copy[Capacity];
		std::memcpy(copy, storage_, Capacity);
		return std::exchange(invoke_, nullptr)(copy, std::forward<Args>(args)...);
	}

	void reset() noexcept
	{
		if (manage_ != nullptr)
			manage_(storage_, nullptr);
		invoke_ = nullptr;
		manage_ = nullptr;
	}

private:
	template <class F, class D = std::decay_t<F>>
	void construct(F &&callable)
	{
		static_assert(
			sizeof(D) <= Capacity,
			"callable too large for kaio's inline storage: capture less, or a pointer");
		static_assert(alignof(D) <= storage_alignment, "callable over-aligned");
		static_assert(std::is_nothrow_move_constructible_v<D>,
			      "callable must be nothrow move constructible");
		// A null pointer makes an empty object; a function named directly is never null.
		constexpr bool may_be_null = std::is_pointer_v<D> || std::is_member_pointer_v<D>;
		if constexpr (may_be_null && !std::is_function_v<std::remove_reference_t<F>>) {
			if (callable == nullptr)
				return;
		} else if constexpr (detail::is_function_wrapper<D>) {
			if (!callable)
				return;
		}
		::new (static_cast<void *>(storage_)) D(std::forward<F>(callable));
		invoke_ = &invoke_stored<D>;
		if constexpr (!std::is_trivially_copyable_v<D>)
			manage_ = &manage_stored<D>;
	}

	// Moves the callable from `from` to `to` and destroys the original; with `to` null, only
	// destroys it. Null for a trivially copyable callable (a function pointer, a lambda that
	// captures pointers and numbers): its bytes move it and nothing destroys it, which keeps a
	// request's callback to a few plain copies on the hot path.
	using manager = void (*)(void *from, void *to) noexcept;

	template <class D>
	static R invoke_stored(void *self, Args... args)
	{
		if constexpr (std::is_void_v<R>)
			std::invoke(*static_cast<D *>(self), std::forward<Args>(args)...);
		else
			return std::invoke(*static_cast<D *>(self), std::forward<Args>(args)...);
	}

	template <class D>
	static void manage_stored(void *from, void *to) noexcept
	{
		if (to != nullptr)
			::new (to) D(std::move(*static_cast<D *>(from)));
		static_cast<D *>(from)->~D();
	}

	void take(inplace_function &other) noexcept
	{
		if (other.manage_ != nullptr)
			other.manage_(other.storage_, storage_);
		else if (other.invoke_ != nullptr) // an empty one's storage was never written
			std::memcpy(storage_, other.storage_, Capacity);
		invoke_ = std::exchange(other.invoke_, nullptr);
		manage_ = std::exchange(other.manage_, nullptr);
	}

	// Pointer alignment is all captures need, and keeps a request slot in two cache lines.
	static constexpr std::size_t storage_alignment = alignof(void *);

	R (*invoke_)(void *, Args...) = nullptr;
	manager manage_ = nullptr;
	alignas(storage_alignment) std::byte storage_[Capacity];
};

// What a request calls when it completes: the kernel's result, bytes or a negative errno.
// Room for four pointers of captures: a coroutine handle, a `this`, a counter and a tag.
using completion_callback = inplace_function<void(int result), 4 * sizeof(void *)>;

// How a context waits for its eventfd to become readable; see io_ctx_create().
using wait_callback = inplace_function<int(int wait_fd), 4 * sizeof(void *)>;

} // namespace kaio
