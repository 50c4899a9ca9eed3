// A write whose callback submits another write, and what both saw: for tests of what a
// callback's own submission meets (a cancel, a destroy).
#pragma once

#include "kaio/io_ctx.h"
#include "support/block_pattern.hpp"
#include "support/completion_record.hpp"

namespace kaio::testing {

// The request the callback makes: `data`'s first block written at block 1 of `fd`.
struct resubmitter {
	io_ctx *ctx = nullptr;
	int fd = -1;
	void *data = nullptr;
	completion self;
	completion next;
	int next_key = 0;
};

inline void resubmit_on_completion(int result, void *data)
{
	auto *r = static_cast<resubmitter *>(data);
	record(result, &r->self);
	r->next_key = io_ctx_write(r->ctx, r->fd, r->data, block, offset_of(1), record, &r->next);
}

} // namespace kaio::testing
