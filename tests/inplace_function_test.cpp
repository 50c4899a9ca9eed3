// kaio::inplace_function: the callable kept inside every request slot. What a user relies on:
// it calls what was stored, moves like a unique_ptr, and destroys each captured object once.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <type_traits>
#include <utility>

#include "kaio/inplace_function.hpp"

namespace {

using int_function = kaio::inplace_function<int(int), 4 * sizeof(void *)>;

int twice(int value)
{
	return 2 * value;
}

// Records the address of every live instance: a double destruction, or the destruction of
// something never constructed, is caught at the moment it happens.
class tracked {
public:
	explicit tracked(int value) : value_(value) { born(); }
	tracked(const tracked &other) : value_(other.value_) { born(); }
	tracked(tracked &&other) noexcept : value_(other.value_) { born(); }
	tracked &operator=(const tracked &) = delete;
	tracked &operator=(tracked &&) = delete;
	~tracked()
	{
		EXPECT_EQ(live().erase(this), 1u) << "destroyed twice, or never constructed";
		++destructions;
	}

	int value() const { return value_; }

	static std::set<const tracked *> &live()
	{
		static std::set<const tracked *> addresses;
		return addresses;
	}
	static inline int constructions = 0;
	static inline int destructions = 0;
	static void reset_counts()
	{
		live().clear();
		constructions = 0;
		destructions = 0;
	}

private:
	void born()
	{
		EXPECT_TRUE(live().insert(this).second) << "constructed over a live object";
		++constructions;
	}

	int value_;
};

} // namespace

TEST(InplaceFunction, InvokesStoredLambdaAndReturnsItsValue)
{
	int base = 40;
	int_function add = [&base](int value) { return base + value; };
	ASSERT_TRUE(add);
	EXPECT_EQ(add(2), 42);
	base = 0;
	EXPECT_EQ(add(2), 2); // captured by reference: sees the change
}

TEST(InplaceFunction, InvokesFunctionPointer)
{
	int_function f = &twice;
	ASSERT_TRUE(f);
	EXPECT_EQ(f(21), 42);
}

TEST(InplaceFunction, NullFunctionPointerGivesEmptyObject)
{
	int (*none)(int) = nullptr;
	int_function f = none;
	EXPECT_FALSE(f);
	EXPECT_FALSE(int_function());
	EXPECT_FALSE(int_function(nullptr));
}

// An empty wrapper is no callable: stored, it would throw std::bad_function_call, or call null.
TEST(InplaceFunction, EmptyFunctionWrapperGivesEmptyObject)
{
	int_function from_std_function = std::function<int(int)>();
	EXPECT_FALSE(from_std_function);
	int_function from_smaller = kaio::inplace_function<int(int), 8>();
	EXPECT_FALSE(from_smaller);
	int_function full = std::function<int(int)>(&twice);
	ASSERT_TRUE(full);
	EXPECT_EQ(full(4), 8);
}

TEST(InplaceFunction, MutableLambdaKeepsItsStateBetweenCalls)
{
	kaio::inplace_function<int(), 16> counter = [n = 0]() mutable { return ++n; };
	EXPECT_EQ(counter(), 1);
	EXPECT_EQ(counter(), 2);
	EXPECT_EQ(counter(), 3);
}

TEST(InplaceFunction, VoidFunctionRunsSideEffects)
{
	std::string log;
	kaio::inplace_function<void(int), 16> append = [&log](int value) {
		log += std::to_string(value);
	};
	append(1);
	append(2);
	EXPECT_EQ(log, "12");
}

TEST(InplaceFunction, MoveConstructionTransfersAndLeavesSourceEmpty)
{
	int_function source = [offset = 7](int value) { return value + offset; };
	int_function target(std::move(source));
	EXPECT_FALSE(source); // NOLINT(bugprone-use-after-move): what we check
	ASSERT_TRUE(target);
	EXPECT_EQ(target(1), 8);
}

TEST(InplaceFunction, MoveAssignmentTransfersAndLeavesSourceEmpty)
{
	int_function source = [offset = 7](int value) { return value + offset; };
	int_function target = &twice;
	target = std::move(source);
	EXPECT_FALSE(source); // NOLINT(bugprone-use-after-move)
	ASSERT_TRUE(target);
	EXPECT_EQ(target(1), 8);

	int_function empty;
	target = std::move(empty);
	EXPECT_FALSE(target);
}

TEST(InplaceFunction, SelfMoveAssignmentKeepsTheCallable)
{
	int_function f = &twice;
	int_function &alias = f;
	f = std::move(alias);
	ASSERT_TRUE(f);
	EXPECT_EQ(f(3), 6);
}

TEST(InplaceFunction, CapturedObjectIsDestroyedExactlyOnce)
{
	tracked::reset_counts();
	{
		tracked original(5);
		int_function first = [held = original](int value) { return held.value() + value; };
		int_function second(std::move(first));
		int_function third;
		third = std::move(second);
		EXPECT_EQ(third(1), 6);
		// The original and one capture alive: moves relocate the capture, never copy it.
		EXPECT_EQ(tracked::live().size(), 2u);
	}
	EXPECT_TRUE(tracked::live().empty());
	EXPECT_GT(tracked::constructions, 0);
	EXPECT_EQ(tracked::destructions, tracked::constructions);
}

// A request's callback may submit again into the very slot it came from: call_moved_out leaves
// the object empty before the call, and the call runs from its own copy, so storing a new
// callable there mid-call neither changes the running capture nor loses the new one.
TEST(InplaceFunction, CallMovedOutMayStoreANewCallableWhereItCameFrom)
{
	int_function slot;
	int seen_during_call = -1;
	slot = [&slot, &seen_during_call, offset = 10](int value) {
		seen_during_call = slot ? 1 : 0; // emptied before the call
		// Same layout, other values: run in place, the rest of this call would see them.
		slot = [unused = static_cast<void *>(nullptr), other = &seen_during_call,
			offset = 30](int v) { return v + offset + (unused == other ? 1 : 0); };
		return value + offset; // still the capture the call started with
	};
	EXPECT_EQ(slot.call_moved_out(1), 11);
	EXPECT_EQ(seen_during_call, 0);
	ASSERT_TRUE(slot);
	EXPECT_EQ(slot(1), 31);
}

TEST(InplaceFunction, CallMovedOutDestroysANonTrivialCaptureOnce)
{
	tracked::reset_counts();
	{
		int_function slot = [held = tracked(4)](int value) { return held.value() + value; };
		EXPECT_EQ(slot.call_moved_out(1), 5);
		EXPECT_FALSE(slot);
		EXPECT_TRUE(tracked::live().empty()); // the moved-out capture went with its call
	}
	EXPECT_GT(tracked::constructions, 0);
	EXPECT_EQ(tracked::destructions, tracked::constructions);
}

TEST(InplaceFunction, AssignmentAndResetDestroyTheOldCapture)
{
	tracked::reset_counts();
	int_function f = [held = tracked(1)](int) { return held.value(); };
	EXPECT_EQ(tracked::live().size(), 1u);
	f = [held = tracked(2)](int) { return held.value(); };
	EXPECT_EQ(tracked::live().size(), 1u);
	EXPECT_EQ(f(0), 2);
	f.reset();
	EXPECT_FALSE(f);
	EXPECT_TRUE(tracked::live().empty());
	f.reset(); // resetting an empty function does nothing
	EXPECT_FALSE(f);
	EXPECT_EQ(tracked::destructions, tracked::constructions);
}

TEST(InplaceFunction, MoveOnlyCaptureWorks)
{
	int_function f = [owned = std::make_unique<int>(40)](int value) { return *owned + value; };
	EXPECT_EQ(f(2), 42);
	int_function g(std::move(f));
	EXPECT_FALSE(f); // NOLINT(bugprone-use-after-move)
	EXPECT_EQ(g(3), 43);
}

TEST(InplaceFunction, MoveOnlyCaptureIsFreedWithTheFunction)
{
	std::weak_ptr<int> watch;
	{
		auto owned = std::make_shared<int>(1);
		watch = owned;
		int_function f = [keep = std::move(owned)](int value) { return *keep + value; };
		int_function g = std::move(f);
		EXPECT_FALSE(watch.expired());
		g.reset();
		EXPECT_TRUE(watch.expired());
	}
}

TEST(InplaceFunction, MoveOnlyArgumentIsForwarded)
{
	kaio::inplace_function<int(std::unique_ptr<int>), 16> take = [](std::unique_ptr<int> p) {
		return *p;
	};
	EXPECT_EQ(take(std::make_unique<int>(9)), 9);
}

TEST(InplaceFunction, CallableFillingTheWholeStorageFits)
{
	int a = 1, b = 2, c = 3, d = 4;
	auto sum = [pa = &a, pb = &b, pc = &c, pd = &d](int value) {
		return *pa + *pb + *pc + *pd + value;
	};
	static_assert(sizeof(sum) == int_function::capacity);
	int_function f = sum;
	EXPECT_EQ(f(10), 20);
}

TEST(InplaceFunction, IsMoveOnly)
{
	static_assert(std::is_nothrow_move_constructible_v<int_function>);
	static_assert(std::is_nothrow_move_assignable_v<int_function>);
	static_assert(!std::is_copy_constructible_v<int_function>);
	static_assert(!std::is_copy_assignable_v<int_function>);
	SUCCEED();
}

// A function named without &: a null check would compare a reference (-Wnonnull-compare).
TEST(InplaceFunction, InvokesFunctionNamedDirectly)
{
	int_function f = twice;
	ASSERT_TRUE(f);
	EXPECT_EQ(f(4), 8);
}

// A void function may discard the callable's result, as std::function does.
TEST(InplaceFunction, VoidFunctionDiscardsTheCallablesResult)
{
	int total = 0;
	kaio::completion_callback f = [&total](int result) { return total += result; };
	f(2);
	EXPECT_EQ(total, 2);
}
