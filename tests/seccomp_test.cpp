// kaio under a seccomp filter like the default container profile (Docker's, podman's), which
// refuses io_pgetevents and io_uring_setup with EPERM. Some libaio builds send io_getevents
// through io_pgetevents, so the kernel seam calls the io_getevents system call itself: every
// reaping path (the completion ring, IO_CTX_REAP_SYSCALL, destroy's blocking reap) must keep
// working.
// Filters cannot be lifted, so each test installs one in a child process.
#include <fcntl.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <libaio.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "support/backend.hpp"
#include "support/block_pattern.hpp"
#include "support/child_process.hpp"
#include "support/completion_record.hpp"
#include "support/context_guard.hpp"
#include "support/context_shorthands.hpp"
#include "support/direct_file.hpp"

namespace {

using kaio::aligned_buffer;
using namespace kaio::testing; // the helpers of support/

constexpr unsigned blocks = 32;

// The container profile's refusals; everything else allowed. Empty, or why it failed.
std::string install_container_like_filter()
{
	scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
	if (filter == nullptr)
		return "seccomp_init failed\n";
	int rc = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(io_pgetevents), 0);
	if (rc == 0)
		rc = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(io_uring_setup), 0);
	if (rc == 0)
		rc = seccomp_load(filter);
	seccomp_release(filter);
	return rc == 0 ? "" : std::string("installing the filter: ") + std::strerror(-rc) + "\n";
}

// The filter is in force: io_pgetevents and io_uring_setup are refused.
std::string filter_refuses_what_it_should()
{
	std::string failures;
	io_context_t context = nullptr;
	if (io_setup(1, &context) != 0)
		return "io_setup refused under the filter\n";
	io_event event{};
	// No timeout: libaio then always makes the system call.
	int got = io_pgetevents(context, 0, 1, &event, nullptr, nullptr);
	io_destroy(context);
	if (got != -EPERM)
		failures += "io_pgetevents answered " + std::to_string(got) + ", not -EPERM\n";
	if (::syscall(SYS_io_uring_setup, 1, nullptr) != -1 || errno != EPERM)
		failures += "io_uring_setup was not refused with EPERM\n";
	return failures;
}

int fail_every_wait(int)
{
	return -EINTR;
}

// io_ctx_read or io_ctx_write.
using submit_function = int (*)(io_ctx *, int, void *, size_t, long long, void (*)(int, void *),
				void *);

// Submits one request per block through a fresh context made with these options and wait_cb,
// runs it until idle unless wait_cb fails every wait, and destroys it, which reaps what is left.
std::string submit_blocks(int fd, aligned_buffer &buffer, std::vector<completion> &done,
			  submit_function submit, unsigned flags, int (*wait_cb)(int))
{
	context_guard guard;
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.flags = flags;
	if (int rc = io_ctx_create_opts(&guard.ctx, blocks, wait_cb, &options); rc != 0)
		return "create: " + std::to_string(rc) + "\n";
	for (unsigned i = 0; i < blocks; ++i) {
		if (submit(&guard.ctx, fd, buffer.data() + i * block, block, offset_of(i), record,
			   &done[i]) <= 0)
			return "request " + std::to_string(i) + " refused\n";
	}
	if (wait_cb == nullptr && run_until_idle(guard.ctx) != 0)
		return "process failed\n";
	return "";
}

// Writes the blocks, then reads them back. Empty, or what went wrong.
std::string write_and_read_back(int fd, unsigned flags, int (*wait_cb)(int))
{
	aligned_buffer data = patterned(blocks, 7);
	aligned_buffer back(blocks * block);
	std::vector<completion> writes(blocks), reads(blocks);
	std::string failures = submit_blocks(fd, data, writes, io_ctx_write, flags, wait_cb);
	if (!failures.empty())
		return failures;
	failures = submit_blocks(fd, back, reads, io_ctx_read, flags, wait_cb);
	if (!failures.empty())
		return failures;
	for (unsigned i = 0; i < blocks; ++i) {
		if (writes[i].calls != 1 || writes[i].result != block_result)
			failures += "write " + std::to_string(i) + ": " +
				    std::to_string(writes[i].calls) + " calls, result " +
				    std::to_string(writes[i].result) + "\n";
		if (reads[i].calls != 1 || reads[i].result != block_result)
			failures += "read " + std::to_string(i) + ": " +
				    std::to_string(reads[i].calls) + " calls, result " +
				    std::to_string(reads[i].result) + "\n";
	}
	if (std::memcmp(back.data(), data.data(), data.size()) != 0)
		failures += "the data read back differs from what was written\n";
	return failures;
}

std::string under_filter(int fd, unsigned flags, int (*wait_cb)(int))
{
	if (std::string failure = install_container_like_filter(); !failure.empty())
		return failure;
	if (std::string failure = filter_refuses_what_it_should(); !failure.empty())
		return failure;
	return write_and_read_back(fd, flags, wait_cb);
}

// The filter refuses io_uring_setup: these tests show AIO keeps working under it (the fallback
// of `auto` is backend_choice_test's).
[[maybe_unused]] const auto *const aio_only = ::testing::AddGlobalTestEnvironment(
	new aio_only_environment("the filter refuses io_uring_setup, as container profiles do"));

TEST(Seccomp, WorksReapingFromTheCompletionRing)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	EXPECT_EQ(in_child([&] { return under_filter(file.fd(), 0, nullptr); }), "");
}

TEST(Seccomp, WorksReapingWithIoGetevents)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	EXPECT_EQ(in_child([&] { return under_filter(file.fd(), IO_CTX_REAP_SYSCALL, nullptr); }),
		  "");
}

// A failing wait_cb makes destroy wait in the kernel, with a blocking io_getevents.
TEST(Seccomp, DestroyWaitsInTheKernelWhenWaitCallbackFails)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	EXPECT_EQ(in_child([&] {
			  return under_filter(file.fd(), IO_CTX_REAP_SYSCALL, fail_every_wait);
		  }),
		  "");
}

// A filter older than statx(2) refuses it with EPERM: kaio asks fstat instead where a file lives,
// and registering an open file still works (not -EBADF).
TEST(Seccomp, StatxRefusedFallsBackToFstat)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	EXPECT_EQ(in_child([&]() -> std::string {
			  scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
			  if (filter == nullptr)
				  return "seccomp_init failed\n";
			  int rc = seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(statx),
						    0);
			  if (rc == 0)
				  rc = seccomp_load(filter);
			  seccomp_release(filter);
			  if (rc != 0)
				  return "cannot install a filter refusing statx\n";
			  struct statx about {};
			  if (::statx(file.fd(), "", AT_EMPTY_PATH, STATX_TYPE, &about) == 0)
				  return "the filter let statx through\n";
			  context_guard guard;
			  if (rc = io_ctx_create(&guard.ctx, 4, nullptr); rc != 0)
				  return "create: " + std::to_string(rc) + "\n";
			  int fds[1] = {file.fd()};
			  if (rc = io_ctx_register_files(&guard.ctx, fds, 1); rc != 0)
				  return "register_files: " + std::to_string(rc) + "\n";
			  return write_and_read_back(file.fd(), 0, nullptr);
		  }),
		  "");
}

} // namespace
