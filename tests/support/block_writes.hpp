// Writes blocks through a C context, one request per block, each recorded in a completion.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "support/block_pattern.hpp"
#include "support/completion_record.hpp"

namespace kaio::testing {

// Writes blocks [0, count) of `data` at the same blocks of the file, block i recorded in
// done[i]; every key must be valid. Wrap the call in ASSERT_NO_FATAL_FAILURE to stop there.
inline void submit_block_writes(io_ctx &ctx, int fd, aligned_buffer &data, unsigned count,
				std::vector<completion> &done)
{
	done.resize(count);
	for (unsigned i = 0; i < count; ++i) {
		ASSERT_GT(io_ctx_write(&ctx, fd, data.data() + i * block, block, offset_of(i),
				       record, &done[i]),
			  0)
			<< "write " << i;
	}
}

} // namespace kaio::testing
