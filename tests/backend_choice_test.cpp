// Which backend a context gets: the options, else KAIO_BACKEND, else AIO; `auto` falls back to AIO
// where the kernel refuses io_uring, which a seccomp filter shows in a child process.
#include <seccomp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "kaio/io_ctx.h"
#include "support/context_guard.hpp"
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

// What a child under a filter that answers io_uring_setup with EPERM, as container runtimes'
// default seccomp profiles do, gets from `uring` and from `auto`.
enum child_status { child_ok = 0, filter_failed = 1, uring_not_refused = 2, auto_not_aio = 3 };

int child_under_io_uring_refusal()
{
	scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
	if (filter == nullptr ||
	    seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(io_uring_setup), 0) != 0 ||
	    seccomp_load(filter) != 0)
		return filter_failed;
	seccomp_release(filter);
	io_ctx uring{};
	if (create_with(uring, IO_CTX_BACKEND_URING) != -EPERM)
		return uring_not_refused;
	io_ctx automatic{};
	int rc = create_with(automatic, IO_CTX_BACKEND_AUTO);
	bool aio = rc == 0 && io_ctx_backend(&automatic) == static_cast<int>(IO_CTX_BACKEND_AIO);
	io_ctx_destroy(&automatic);
	return aio ? child_ok : auto_not_aio;
}

TEST(BackendChoice, AutoFallsBackToAioWhenSeccompRefusesIoUring)
{
	pid_t child = ::fork();
	ASSERT_GE(child, 0);
	if (child == 0)
		::_exit(child_under_io_uring_refusal());
	int status = 0;
	ASSERT_EQ(::waitpid(child, &status, 0), child);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_NE(WEXITSTATUS(status), filter_failed) << "could not install the seccomp filter";
	EXPECT_NE(WEXITSTATUS(status), uring_not_refused) << "`uring` did not fail with EPERM";
	EXPECT_NE(WEXITSTATUS(status), auto_not_aio) << "`auto` did not fall back to AIO";
	EXPECT_EQ(WEXITSTATUS(status), child_ok);
}

} // namespace
