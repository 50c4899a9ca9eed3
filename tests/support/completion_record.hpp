// What a request's C callback saw: `record` is the callback, its user pointer a `completion`,
// which counts the calls (each must run exactly once) and keeps the last result.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

namespace kaio::testing {

struct completion {
	int calls = 0;
	int result = 0;
};

inline void record(int result, void *data)
{
	auto *done = static_cast<completion *>(data);
	++done->calls;
	done->result = result;
}

// Every callback ran once, with `result`.
inline void expect_each_once(const std::vector<completion> &done, int result)
{
	for (std::size_t i = 0; i < done.size(); ++i) {
		EXPECT_EQ(done[i].calls, 1) << "request " << i;
		EXPECT_EQ(done[i].result, result) << "request " << i;
	}
}

} // namespace kaio::testing
