// Which backend a context gets: the options, else KAIO_BACKEND, else AIO; `auto` falls back to AIO
// where the kernel refuses io_uring, which a seccomp filter shows in a child process.
#include <seccomp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "support/child_process.hpp"
#include "support/completion_record.hpp"
#include "support/context_guard.hpp"
#include "support/context_shorthands.hpp"
#include "support/direct_file.hpp"

namespace {

using namespace kaio::testing; // the helpers of support/

// Sets an environment variable for one test, and puts the old value back after.
class scoped_environment {
public:
	scoped_environment(const char *name, const char *value) : name_(name)
	{
		if (const char *old = std::getenv(name))
			old_ = old;
		::setenv(name, value, 1);
	}
	~scoped_environment()
	{
		if (old_.empty())
			::unsetenv(name_);
		else
			::setenv(name_, old_.c_str(), 1);
	}
	scoped_environment(const scoped_environment &) = delete;
	scoped_environment &operator=(const scoped_environment &) = delete;

private:
	const char *name_;
	std::string old_;
};

int create_with(io_ctx &ctx, unsigned backend)
{
	io_ctx_options options = IO_CTX_OPTIONS_INIT;
	options.backend = backend;
	return io_ctx_create_opts(&ctx, 4, nullptr, &options);
}

bool uring_available()
{
	context_guard probe;
	return create_with(probe.ctx, IO_CTX_BACKEND_URING) == 0;
}

TEST(BackendChoice, DefaultIsAio)
{
	scoped_environment unset("KAIO_BACKEND", "");
	context_guard context;
	ASSERT_EQ(io_ctx_create(&context.ctx, 4, nullptr), 0);
	EXPECT_EQ(io_ctx_backend(&context.ctx), static_cast<int>(IO_CTX_BACKEND_AIO));
}

TEST(BackendChoice, EnvironmentChoosesForContextsWithoutABackend)
{
	if (!uring_available())
		GTEST_SKIP() << "io_uring refused here";
	scoped_environment uring("KAIO_BACKEND", "uring");
	context_guard plain;
	ASSERT_EQ(io_ctx_create(&plain.ctx, 4, nullptr), 0);
	EXPECT_EQ(io_ctx_backend(&plain.ctx), static_cast<int>(IO_CTX_BACKEND_URING));
	context_guard chosen;
	ASSERT_EQ(create_with(chosen.ctx, IO_CTX_BACKEND_AIO), 0);
	EXPECT_EQ(io_ctx_backend(&chosen.ctx), static_cast<int>(IO_CTX_BACKEND_AIO));
}

TEST(BackendChoice, UnknownEnvironmentValueFailsCreation)
{
	scoped_environment typo("KAIO_BACKEND", "io_uring");
	io_ctx ctx{};
	EXPECT_EQ(io_ctx_create(&ctx, 4, nullptr), -EINVAL);
	EXPECT_EQ(ctx.impl, nullptr);
	context_guard explicit_choice; // an explicit backend does not read the variable
	EXPECT_EQ(create_with(explicit_choice.ctx, IO_CTX_BACKEND_AIO), 0);
}

TEST(BackendChoice, UnknownBackendOptionIsRefused)
{
	io_ctx ctx{};
	EXPECT_EQ(create_with(ctx, IO_CTX_BACKEND_AUTO + 1), -EINVAL);
}

TEST(BackendChoice, AutoTakesIoUringWhereTheKernelAllowsIt)
{
	if (!uring_available())
		GTEST_SKIP() << "io_uring refused here";
	context_guard context;
	ASSERT_EQ(create_with(context.ctx, IO_CTX_BACKEND_AUTO), 0);
	EXPECT_EQ(io_ctx_backend(&context.ctx), static_cast<int>(IO_CTX_BACKEND_URING));
	scoped_environment automatic("KAIO_BACKEND", "auto");
	context_guard named;
	ASSERT_EQ(io_ctx_create(&named.ctx, 4, nullptr), 0);
	EXPECT_EQ(io_ctx_backend(&named.ctx), static_cast<int>(IO_CTX_BACKEND_URING));
}

TEST(BackendChoice, BackendOfNoContextIsEinval)
{
	io_ctx zeroed{};
	EXPECT_EQ(io_ctx_backend(nullptr), -EINVAL);
	EXPECT_EQ(io_ctx_backend(&zeroed), -EINVAL);
}

TEST(BackendChoice, RegisteringOnAioSendsNoFixedBuffers)
{
	KAIO_DIRECT_FILE_OR_SKIP(file);
	context_guard context;
	ASSERT_EQ(create_with(context.ctx, IO_CTX_BACKEND_AIO), 0);
	alignas(512) static char buffer[4096];
	iovec registered{buffer, sizeof buffer};
	EXPECT_EQ(io_ctx_register_buffers(&context.ctx, &registered, 1), 0);
	int fds[1] = {file.fd()};
	EXPECT_EQ(io_ctx_register_files(&context.ctx, fds, 1), 0);
	io_ctx_stats stats{};
	ASSERT_EQ(io_ctx_get_stats(&context.ctx, &stats), 0);
	EXPECT_EQ(stats.fixed_buffer_requests, 0u);
}

// What a user checks of a context created under a filter: a write and a read of it come back.
std::string round_trip(io_ctx &ctx)
{
	direct_file file;
	if (!file.unusable_reason().empty())
		return file.unusable_reason();
	kaio::aligned_buffer out(4096);
	kaio::aligned_buffer in(4096);
	std::memset(out.data(), 'r', out.size());
	completion wrote, read;
	if (io_ctx_write(&ctx, file.fd(), out.data(), out.size(), 0, record, &wrote) <= 0 ||
	    run_until_idle(ctx) != 0 ||
	    io_ctx_read(&ctx, file.fd(), in.data(), in.size(), 0, record, &read) <= 0 ||
	    run_until_idle(ctx) != 0)
		return "a request could not be submitted or processed\n";
	if (wrote.result != 4096 || read.result != 4096 ||
	    std::memcmp(out.data(), in.data(), in.size()) != 0)
		return "the write and the read did not come back whole\n";
	return "";
}

// In a child under a filter that answers `refused` (an io_uring system call) with EPERM, as
// container runtimes' default seccomp profiles do for io_uring_setup: `uring` fails with EPERM at
// creation, rather than in every request after; `auto`, asked or through KAIO_BACKEND, falls back
// to AIO, which serves requests.
std::string under_refusal_of(int refused)
{
	scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
	if (filter == nullptr || seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), refused, 0) != 0 ||
	    seccomp_load(filter) != 0)
		return "could not install the seccomp filter\n";
	seccomp_release(filter);
	std::string failures;
	io_ctx uring{};
	if (int rc = create_with(uring, IO_CTX_BACKEND_URING); rc != -EPERM) {
		failures += "`uring` gave " + std::to_string(rc) + ", not -EPERM\n";
		io_ctx_destroy(&uring);
	}
	context_guard automatic;
	if (create_with(automatic.ctx, IO_CTX_BACKEND_AUTO) != 0)
		return failures + "`auto` failed\n";
	if (io_ctx_backend(&automatic.ctx) != static_cast<int>(IO_CTX_BACKEND_AIO))
		failures += "`auto` did not fall back to AIO\n";
	failures += round_trip(automatic.ctx);
	::setenv("KAIO_BACKEND", "auto", 1); // this child's own environment
	context_guard named;
	if (io_ctx_create(&named.ctx, 4, nullptr) != 0 ||
	    io_ctx_backend(&named.ctx) != static_cast<int>(IO_CTX_BACKEND_AIO))
		failures += "KAIO_BACKEND=auto did not fall back to AIO\n";
	return failures;
}

TEST(BackendChoice, AutoFallsBackToAioWhenSeccompRefusesIoUringSetup)
{
	EXPECT_EQ(in_child([] { return under_refusal_of(SCMP_SYS(io_uring_setup)); }), "");
}

// A filter may let the ring be set up and refuse its use: every request would fail.
TEST(BackendChoice, AutoFallsBackToAioWhenSeccompRefusesIoUringEnter)
{
	if (!uring_available())
		GTEST_SKIP() << "io_uring refused here";
	EXPECT_EQ(in_child([] { return under_refusal_of(SCMP_SYS(io_uring_enter)); }), "");
}

TEST(BackendChoice, AutoFallsBackToAioWhenSeccompRefusesIoUringRegister)
{
	if (!uring_available())
		GTEST_SKIP() << "io_uring refused here";
	EXPECT_EQ(in_child([] { return under_refusal_of(SCMP_SYS(io_uring_register)); }), "");
}

} // namespace
