// Each fault random_fault_kernel knows, injected at random into a workload of writes, reads
// and cancels through the C API: no request is lost, none completes twice, each callback gets
// the result delivered for its own request, the counters agree with the kernel's, and destroy
// returns with every callback run. Also destroy with thousands of requests in flight.
#include <fcntl.h>
#include <libaio.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "io_ctx_internal.hpp"
#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "support/block_pattern.hpp"
#include "support/completion_record.hpp"
#include "support/context_guard.hpp"
#include "support/context_shorthands.hpp"
#include "support/direct_file.hpp"
#include "support/random_fault_kernel.hpp"

namespace {

using kaio::aligned_buffer;
using namespace kaio::testing; // the helpers of support/

constexpr unsigned blocks = 48;
constexpr int capacity = 8;

// One request of the workload and what the kernel handed over for it.
struct tracked {
	int key = 0;
	completion done;
	bool delivered = false;
	int delivered_result = 0;
	bool injected = false;
	bool rest_on_worker = false; // see random_fault_kernel::rest_moved_by_worker
};

bool is_refusal(int error)
{
	return error == -EAGAIN || error == -EINTR || error == -EBADF || error == -ENOMEM;
}

// Writes every block, then reads every block back and tries to cancel every fourth read, with
// the kernel injecting faults; destroys the context with requests still in flight.
// Creates a context over `kernel`, again as long as io_setup fails with an injected EAGAIN,
// which must leave nothing behind.
void create_through_eagain(io_ctx &ctx, int size, const io_ctx_options *options,
			   random_fault_kernel &kernel)
{
	for (int attempt = 0; attempt < 100; ++attempt) {
		auto injected_before = kernel.injected(fault::setup_eagain);
		int rc = kaio::detail::create_io_ctx(&ctx, size, nullptr, options, &kernel);
		if (rc == 0)
			return;
		ASSERT_EQ(rc, -EAGAIN);
		ASSERT_GT(kernel.injected(fault::setup_eagain), injected_before) << "not injected";
		ASSERT_EQ(ctx.impl, nullptr);
	}
	FAIL() << "io_setup kept failing";
}

class workload {
public:
	workload(const fault_plan &plan, unsigned seed)
		: kernel(plan, seed), written(patterned(blocks, seed)), read_back(blocks * block),
		  writes(blocks), reads(blocks)
	{
		kernel.on_delivery = [this](const iocb &request, int result, bool injected) {
			tracked &t = of(request);
			EXPECT_FALSE(t.delivered) << "two events for one request";
			t.delivered = true;
			t.delivered_result = result;
			t.injected = injected;
			t.rest_on_worker =
				random_fault_kernel::rest_moved_by_worker(request, result);
		};
	}

	void run(int fd)
	{
		// Whole blocks to read back even where a write never got there.
		ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(blocks * block)), 0);
		io_ctx_options options = deferred_options(); // batches, for partial submits
		ASSERT_NO_FATAL_FAILURE(
			create_through_eagain(context.ctx, capacity, &options, kernel));
		for (unsigned i = 0; i < blocks; ++i)
			submit(writes[i],
			       io_ctx_write(&context.ctx, fd, written.data() + i * block, block,
					    offset_of(i), record, &writes[i].done));
		ASSERT_NO_FATAL_FAILURE(process_until_idle());
		for (unsigned i = 0; i < blocks; ++i) {
			submit(reads[i], io_ctx_read(&context.ctx, fd, read_back.data() + i * block,
						     block, offset_of(i), record, &reads[i].done));
			if (i % 4 == 0 && reads[i].key > 0) {
				ASSERT_GE(io_ctx_flush(&context.ctx),
					  0); // to cancel it in the kernel
				cancel(reads[i]);
			}
			if (i % 8 == 0) {
				ASSERT_NO_FATAL_FAILURE(process_once());
			}
		}
		io_ctx_destroy(&context.ctx); // with reads in flight
		EXPECT_EQ(kernel.outstanding(), 0);
		EXPECT_EQ(kernel.held(), 0u);
	}

	// Every promise, once the context is gone.
	void expect_promises_kept()
	{
		for (unsigned i = 0; i < blocks; ++i) {
			SCOPED_TRACE("block " + std::to_string(i));
			expect_kept(writes[i]);
			expect_kept(reads[i]);
			bool clean_write =
				writes[i].done.result == block_result && !writes[i].injected;
			if (clean_write && reads[i].done.result == block_result &&
			    !reads[i].injected) {
				EXPECT_EQ(std::memcmp(read_back.data() + i * block,
						      written.data() + i * block, block),
					  0);
			}
		}
	}

	random_fault_kernel kernel;
	int cancels_stopped = 0;

private:
	tracked &of(const iocb &request)
	{
		auto index = static_cast<std::size_t>(request.u.c.offset /
						      static_cast<long long>(block));
		return request.aio_lio_opcode == IO_CMD_PWRITE ? writes[index] : reads[index];
	}

	void submit(tracked &t, int key)
	{
		t.key = key;
		if (key <= 0) {
			EXPECT_TRUE(is_refusal(key)) << "submission failed with " << key;
		}
	}

	void cancel(tracked &t)
	{
		int answer = io_ctx_cancel(&context.ctx, t.key);
		if (answer == 0) {
			++cancels_stopped;
			EXPECT_EQ(t.done.calls, 1); // ran before cancel returned
			EXPECT_EQ(t.done.result, -ECANCELED);
		} else {
			EXPECT_EQ(answer, -EINPROGRESS);
		}
	}

	void process_once()
	{
		ASSERT_GE(io_ctx_process(&context.ctx), 0);
		expect_counters_agree();
	}

	void process_until_idle()
	{
		while (stats_of(context.ctx).in_kernel + stats_of(context.ctx).queued > 0 ||
		       callbacks_due() > 0)
			ASSERT_NO_FATAL_FAILURE(process_once());
	}

	int callbacks_due() const
	{
		int due = 0;
		for (const tracked &t : writes)
			due += t.key > 0 && t.done.calls == 0 ? 1 : 0;
		for (const tracked &t : reads)
			due += t.key > 0 && t.done.calls == 0 ? 1 : 0;
		return due;
	}

	void expect_counters_agree()
	{
		io_ctx_stats stats = stats_of(context.ctx);
		unsigned long long ran = 0;
		for (const tracked &t : writes)
			ran += static_cast<unsigned>(t.done.calls);
		for (const tracked &t : reads)
			ran += static_cast<unsigned>(t.done.calls);
		EXPECT_EQ(stats.completed, ran);
		EXPECT_EQ(static_cast<long>(stats.submitted), kernel.accepted());
		// Also counted: the rests workers move, some of which may be done already, their
		// callbacks kept for later.
		long on_workers = 0;
		for (const std::vector<tracked> *list : {&writes, &reads})
			for (const tracked &t : *list)
				on_workers += t.rest_on_worker && t.done.calls == 0 ? 1 : 0;
		EXPECT_GE(static_cast<long>(stats.in_kernel), kernel.outstanding());
		EXPECT_LE(static_cast<long>(stats.in_kernel), kernel.outstanding() + on_workers);
	}

	static void expect_kept(const tracked &t)
	{
		if (t.key <= 0) {
			EXPECT_EQ(t.done.calls, 0) << "a refused submission's callback ran";
			return;
		}
		EXPECT_EQ(t.done.calls, 1);
		if (t.delivered) {
			EXPECT_EQ(t.done.result,
				  t.rest_on_worker ? block_result : t.delivered_result)
				<< "not the result of its own event";
		} else {
			EXPECT_TRUE(is_refusal(t.done.result) || t.done.result == -ECANCELED)
				<< "never in the kernel, yet got " << t.done.result;
		}
		if (t.delivered && !t.injected) {
			EXPECT_EQ(t.done.result, block_result);
		}
	}

	context_guard context;
	aligned_buffer written;
	aligned_buffer read_back;
	std::vector<tracked> writes;
	std::vector<tracked> reads;
};

class RandomFault : public ::testing::TestWithParam<fault> {};

TEST_P(RandomFault, EveryCallbackRunsOnceWithItsOwnResult)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	fault kind = GetParam();
	// io_setup is called once per run: make its fault likely enough to be seen.
	double chance = kind == fault::setup_eagain ? 0.75 : 0.3;
	workload load(fault_plan::only(kind, chance), 7 + static_cast<unsigned>(kind));
	ASSERT_NO_FATAL_FAILURE(load.run(file.fd()));
	load.expect_promises_kept();
	EXPECT_GT(load.kernel.injected(kind), 0u) << "the fault was never injected";
	if (kind == fault::cancel_succeeds) {
		EXPECT_GT(load.cancels_stopped, 0);
	}
}

INSTANTIATE_TEST_SUITE_P(
	EachFault, RandomFault,
	::testing::Values(fault::submit_partial, fault::submit_eagain, fault::submit_eintr,
			  fault::submit_ebadf, fault::submit_enomem, fault::getevents_eintr,
			  fault::getevents_fewer, fault::hold_back, fault::result_eio,
			  fault::result_enospc, fault::result_short, fault::result_eintr,
			  fault::setup_eagain, fault::cancel_succeeds, fault::cancel_einval,
			  fault::cancel_eagain),
	[](const ::testing::TestParamInfo<fault> &kind) {
		return std::string(fault_names[static_cast<std::size_t>(kind.param)]);
	});

TEST(RandomFaults, EveryFaultAtOnceKeepsEveryPromise)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	workload load(fault_plan::every(0.1), 3);
	ASSERT_NO_FATAL_FAILURE(load.run(file.fd()));
	load.expect_promises_kept();
}

// Thousands of writes in flight when destroy is called, with faults or without: every callback
// runs once, and every block a clean write reports is on disk.
void expect_destroy_completes_thousands(random_fault_kernel &kernel)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	constexpr unsigned count = 4096;
	aligned_buffer data(count * block);
	for (unsigned i = 0; i < count; ++i)
		std::memset(data.data() + i * block, static_cast<int>(i % 251) + 1, block);
	std::vector<completion> done(count);
	std::vector<int> keys(count);
	// Writes that extend a file run inside io_submit on ext4: allocate first, so that the
	// writes really are in flight together.
	ASSERT_EQ(::fallocate(file.fd(), 0, 0, count * block), 0);
	io_ctx_options options = deferred_options(); // all of them in the library or the kernel
	io_ctx ctx{};
	ASSERT_NO_FATAL_FAILURE(create_through_eagain(ctx, count, &options, kernel));
	for (unsigned i = 0; i < count; ++i) {
		keys[i] = io_ctx_write(&ctx, file.fd(), data.data() + i * block, block,
				       offset_of(i), record, &done[i]);
		ASSERT_GT(keys[i], 0);
	}
	ASSERT_EQ(stats_of(ctx).queued, count);
	io_ctx_destroy(&ctx);
	aligned_buffer back(block);
	for (unsigned i = 0; i < count; ++i) {
		ASSERT_EQ(done[i].calls, 1) << "write " << i;
		if (done[i].result != block_result)
			continue; // a fault, injected
		ASSERT_EQ(::pread(file.fd(), back.data(), block, offset_of(i)), block_result);
		ASSERT_EQ(std::memcmp(back.data(), data.data() + i * block, block), 0)
			<< "block " << i;
	}
}

TEST(RandomFaults, DestroyWithThousandsInFlightRunsEveryCallbackOnce)
{
	random_fault_kernel kernel(fault_plan{}, 1); // no faults: the real kernel's behaviour
	expect_destroy_completes_thousands(kernel);
	EXPECT_EQ(kernel.outstanding(), 0);
}

TEST(RandomFaults, DestroyWithThousandsInFlightUnderFaultsRunsEveryCallbackOnce)
{
	random_fault_kernel kernel(fault_plan::every(0.05), 11);
	expect_destroy_completes_thousands(kernel);
	EXPECT_EQ(kernel.outstanding(), 0);
	EXPECT_GT(kernel.injected_total(), 0u);
}

} // namespace
