// coroutines: kaio's C++20 awaitables. A coroutine reads a file from start to end with
// `co_await ctx.read(...)` in an ordinary loop and computes the file's POSIX checksum on the way.
//
//	coroutines FILE
//
// It prints "CRC SIZE FILE", the same line as cksum(1), so the two can be compared.
//
// What to see: the loop reads like blocking code, yet nothing blocks inside it. `co_await`
// submits the read and suspends the coroutine; the caller drives the context with process(), which
// waits for the completion and resumes the coroutine from the read's callback with the result
// (bytes read, or a negative errno). The coroutine's next co_await submits the next read from
// there, and process() sends it before it returns. kaio provides the awaitables, not a coroutine
// type: any will do, and `task` below is the smallest that works.
//
// The file is opened with O_DIRECT, so the reads use a 4096-aligned buffer (kaio::aligned_buffer)
// at offsets that are multiples of its size; a read that comes back short is the end of the file.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <span>
#include <system_error>

#include <kaio/kaio.hpp>

namespace {

// A coroutine that starts at once and frees itself when it ends. Its results travel through
// the caller's variables, which must outlive it: main() drives the context until it has ended.
struct task {
	struct promise_type {
		task get_return_object() noexcept { return {}; }
		std::suspend_never initial_suspend() noexcept { return {}; }
		std::suspend_never final_suspend() noexcept { return {}; }
		void return_void() noexcept {}
		void unhandled_exception() noexcept { std::terminate(); }
	};
};

// The checksum of cksum(1) (POSIX): a CRC-32, most significant bit first, over the data and
// then over the length.
class posix_cksum {
public:
	void update(std::span<const std::byte> data) noexcept
	{
		for (std::byte b : data)
			add(static_cast<std::uint8_t>(b));
		length_ += data.size();
	}

	std::uint32_t value() const noexcept
	{
		posix_cksum copy = *this;
		for (std::uint64_t n = length_; n != 0; n >>= 8)
			copy.add(static_cast<std::uint8_t>(n & 0xff));
		return ~copy.crc_;
	}

	std::uint64_t length() const noexcept { return length_; }

private:
	void add(std::uint8_t byte) noexcept
	{
		crc_ ^= static_cast<std::uint32_t>(byte) << 24;
		for (int bit = 0; bit < 8; ++bit)
			crc_ = (crc_ & 0x80000000u) != 0 ? (crc_ << 1) ^ 0x04C11DB7u : crc_ << 1;
	}

	std::uint32_t crc_ = 0;
	std::uint64_t length_ = 0;
};

struct outcome {
	posix_cksum sum;
	int error = 0;          // the first negative errno, if any
	std::int64_t where = 0; // the offset of the read that failed
	bool finished = false;
};

task checksum_file(kaio::context &ctx, int fd, std::span<std::byte> chunk, outcome &out)
{
	for (std::int64_t offset = 0;; offset += static_cast<std::int64_t>(chunk.size())) {
		int got = co_await ctx.read(fd, chunk, offset);
		if (got < 0) {
			out.error = got;
			out.where = offset;
			break;
		}
		out.sum.update(chunk.first(static_cast<std::size_t>(got)));
		if (static_cast<std::size_t>(got) < chunk.size())
			break; // end of file
	}
	out.finished = true;
}

int checksum(const char *path)
{
	int fd = ::open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		std::fprintf(stderr, "coroutines: cannot open %s with O_DIRECT: %s\n", path,
			     std::strerror(errno));
		return 1;
	}
	int status = 1;
	try {
		// Declared before the context, so they outlive it: its destructor waits for the
		// requests still in flight, and their completions resume the coroutine.
		kaio::aligned_buffer chunk(1024 * 1024);
		outcome out;
		kaio::context ctx(1); // one read in flight at a time

		checksum_file(ctx, fd, chunk, out); // runs up to its first co_await
		int rc = 0;
		while (!out.finished && rc >= 0)
			rc = ctx.process(); // waits for the read, resumes the coroutine
		if (rc < 0)
			std::fprintf(stderr, "coroutines: process: %s\n", std::strerror(-rc));
		else if (out.error < 0)
			std::fprintf(stderr, "coroutines: cannot read %s at offset %lld: %s\n",
				     path, static_cast<long long>(out.where),
				     std::strerror(-out.error));
		else {
			std::printf("%u %llu %s\n", static_cast<unsigned>(out.sum.value()),
				    static_cast<unsigned long long>(out.sum.length()), path);
			status = 0;
		}
	} catch (const std::system_error &error) { // from the context's constructor
		std::fprintf(stderr, "coroutines: cannot create a kaio context: %s\n",
			     error.what());
	} catch (const std::bad_alloc &) {
		std::fprintf(stderr, "coroutines: out of memory\n");
	}
	::close(fd);
	return status;
}

} // namespace

int main(int argc, char *argv[])
{
	if (argc != 2) {
		std::fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	return checksum(argv[1]);
}
