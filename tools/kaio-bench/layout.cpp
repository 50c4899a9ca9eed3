#include "layout.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <string>

#include "aio_context.hpp"
#include "block_stamp.hpp"
#include "byte_size.hpp"
#include "failure.hpp"
#include "kaio/aligned_buffer.hpp"
#include "status_line.hpp"

namespace kaio::bench {
namespace {

constexpr std::uint64_t chunk_bytes = 1 << 20;
constexpr unsigned depth = 4;

// The space, without the size: the file reaches its full size only with the write of its last
// chunk, which goes after all the others (layout_writer::send), so that a layout cut short (an
// interrupt, ENOSPC) leaves a file too short to pass for laid out, and the next run lays it out
// again rather than read blocks that were never written.
void preallocate(int fd, const target_file &target)
{
	if (::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, off_t(target.size())) == 0 ||
	    errno == EOPNOTSUPP)
		return;
	throw run_failure(fmt::format("cannot allocate {} for {}: {}",
				      tools::format_bytes(double(target.size())), target.path(),
				      reason_of(errno)));
}

// Writes the file in chunks, `depth` of them in flight, each completion sending the next.
class layout_writer {
public:
	layout_writer(int fd, std::uint64_t size, kaio::backend backend)
		: fd_(fd), size_(size), ctx_(open_context(depth, depth, on(backend)))
	{
		for (chunk &piece : chunks_)
			piece.buffer = kaio::aligned_buffer(std::min(chunk_bytes, size));
	}

	void run(tools::status_line &status, const std::string &path)
	{
		for (chunk &piece : chunks_)
			send(piece);
		while (in_flight_ > 0) {
			if (int rc = ctx_.process(); rc < 0)
				throw run_failure(
					fmt::format("laying out {}: {}", path, reason_of(-rc)));
			if (status.due())
				status.show(fmt::format("laying out {}: {}%", path,
							written_ * 100 / size_));
		}
		status.clear();
		if (!error_.empty())
			throw run_failure(fmt::format("laying out {}: {}", path, error_));
	}

private:
	struct chunk {
		kaio::aligned_buffer buffer;
		std::uint64_t offset = 0;
		std::uint64_t length = 0;
	};

	void send(chunk &piece)
	{
		if (next_ >= size_ || !error_.empty())
			return;
		bool last = size_ - next_ <= chunk_bytes;
		if (last && in_flight_ > 0)
			return; // see preallocate(): the completion that leaves none in flight
				// sends it
		piece.offset = next_;
		piece.length = std::min(chunk_bytes, size_ - next_);
		next_ += piece.length;
		std::span<std::byte> bytes = piece.buffer.span().first(piece.length);
		stamp_block(bytes, piece.offset, layout_generation);
		int key = ctx_.write(fd_, bytes, std::int64_t(piece.offset),
				     [this, &piece](int result) { written(piece, result); });
		if (key < 0)
			error_ = fmt::format("write at offset {}: {}", piece.offset,
					     reason_of(-key));
		else
			++in_flight_;
	}

	void written(chunk &piece, int result)
	{
		--in_flight_;
		if (result < 0)
			error_ = fmt::format("write at offset {}: {}", piece.offset,
					     reason_of(-result));
		else if (std::uint64_t(result) != piece.length)
			error_ = fmt::format("write at offset {}: short write", piece.offset);
		written_ += piece.length;
		send(piece);
	}

	int fd_;
	std::uint64_t size_;
	std::uint64_t next_ = 0;
	std::uint64_t written_ = 0;
	unsigned in_flight_ = 0;
	std::string error_; // the first error; no more chunks are sent after it
	std::array<chunk, depth> chunks_;
	kaio::context ctx_; // last member: destroyed first, while the buffers still exist
};

} // namespace

void lay_out(const target_file &target, bool show_progress, kaio::backend backend)
{
	try {
		tools::unique_fd file = target.open(true);
		preallocate(file.get(), target);
		tools::status_line status(show_progress);
		layout_writer(file.get(), target.size(), backend).run(status, target.path());
	} catch (const failure &) {
		// A file this run made and could not lay out (too large, no space) goes, as one
		// whose filesystem refuses O_DIRECT does; an existing one is left for the next run.
		if (target.created())
			::unlink(target.path().c_str());
		throw;
	}
}

} // namespace kaio::bench
