// A FUSE filesystem served by the test process itself (libfuse3, as root): one read-only file,
// "data", whose every byte is its offset's block number plus one. While its gate is closed, the
// daemon holds each read and attribute request until the gate opens, so a thread that sent one is
// seen to wait for the daemon. A request from the watched thread is answered at once instead, and
// counted: that thread, inside a library call, would otherwise wait in the kernel for a daemon
// that waits for it. The thread id comes from the kernel, in each request's header.
//
// The daemon has FUSE_CAP_ASYNC_DIO off, as a daemon may: the kernel then serves an AIO direct
// read synchronously, inside io_submit.
//
// Its threads are its own rather than fuse_session_loop_mt's: that loop stops its workers with
// pthread_cancel, which can catch one inside perror("fuse: reading device") on the ended
// connection, holding stderr's lock: exit() then waits for ever to flush stderr.
#pragma once

#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 12)
#include <fuse_lowlevel.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kaio::testing {

class gated_fuse {
public:
	static constexpr off_t size = 64 * 4096;

	// Mounts on `mount_point`, which must exist, with the gate open.
	explicit gated_fuse(const std::filesystem::path &mount_point) : mount_point_(mount_point)
	{
		fuse_lowlevel_ops operations{};
		operations.init = on_init;
		operations.lookup = on_lookup;
		operations.getattr = on_getattr;
		operations.open = on_open;
		operations.read = on_read;
		char program[] = "kaio-test";
		char *argv[] = {program, nullptr};
		fuse_args args = FUSE_ARGS_INIT(1, argv);
		session_ = fuse_session_new(&args, &operations, sizeof operations, this);
		fuse_opt_free_args(&args); // what the session added to them
		if (session_ == nullptr) {
			why_not_ = "fuse_session_new failed";
			return;
		}
		if (fuse_session_mount(session_, mount_point.c_str()) != 0) {
			why_not_ = "cannot mount a FUSE filesystem (root and /dev/fuse are needed)";
			return;
		}
		mounted_ = true;
		for (int i = 0; i < readers; ++i)
			readers_.emplace_back([this] { serve(); });
	}

	~gated_fuse()
	{
		open_gate();
		if (mounted_) {
			// Unmounting ends the connection, and with it the readers' reads of
			// /dev/fuse; closing that descriptor (fuse_session_unmount) under them
			// would race.
			fuse_session_exit(session_);
			::umount2(mount_point_.c_str(), MNT_DETACH);
			for (std::thread &reader : readers_)
				reader.join();
			fuse_session_unmount(session_);
		}
		if (session_ != nullptr)
			fuse_session_destroy(session_);
	}

	gated_fuse(const gated_fuse &) = delete;
	gated_fuse &operator=(const gated_fuse &) = delete;

	// Empty once mounted, else why the test cannot run.
	const std::string &why_not() const { return why_not_; }
	std::filesystem::path file() const { return mount_point_ / "data"; }
	static int byte_at(off_t offset) { return static_cast<int>(offset / 4096 + 1) & 0xff; }

	// From now on, requests wait at the gate, except those from `thread` (a gettid()).
	void close_gate(pid_t thread)
	{
		std::lock_guard lock(mutex_);
		watched_ = thread;
		gate_open_ = false;
	}

	void open_gate()
	{
		{
			std::lock_guard lock(mutex_);
			gate_open_ = true;
		}
		opened_.notify_all();
	}

	// What the watched thread asked while the gate was closed ("read", "getattr").
	std::vector<std::string> asked_by_watched_thread() const
	{
		std::lock_guard lock(mutex_);
		return asked_by_watched_;
	}

private:
	// More than the requests any test holds at the gate, so that one is always free to answer
	// the watched thread.
	static constexpr int readers = 8;

	// Answers requests until the connection ends (unmounted: every reader's read fails).
	void serve()
	{
		fuse_buf buffer{};
		while (!fuse_session_exited(session_)) {
			int received = fuse_session_receive_buf(session_, &buffer);
			if (received == -EINTR)
				continue;
			if (received <= 0)
				break;
			fuse_session_process_buf(session_, &buffer);
		}
		std::free(buffer.mem); // libfuse allocated it
	}

	static gated_fuse &self(fuse_req_t request)
	{
		return *static_cast<gated_fuse *>(fuse_req_userdata(request));
	}

	// Waits while the gate is closed; from the watched thread, counts the request instead.
	void pass_gate(fuse_req_t request, const char *what)
	{
		std::unique_lock lock(mutex_);
		if (gate_open_)
			return;
		if (fuse_req_ctx(request)->pid == watched_) {
			asked_by_watched_.emplace_back(what);
			return;
		}
		opened_.wait(lock, [this] { return gate_open_; });
	}

	static struct stat attributes(fuse_ino_t inode)
	{
		struct stat status {};
		status.st_ino = inode;
		if (inode == FUSE_ROOT_ID) {
			status.st_mode = S_IFDIR | 0755;
			status.st_nlink = 2;
		} else {
			status.st_mode = S_IFREG | 0444;
			status.st_nlink = 1;
			status.st_size = size;
		}
		return status;
	}

	static void on_init(void * /*userdata*/, fuse_conn_info *connection)
	{
		connection->want &= ~FUSE_CAP_ASYNC_DIO;
	}

	// Attributes time out at once: every stat that may ask the daemon does.
	static void on_lookup(fuse_req_t request, fuse_ino_t parent, const char *name)
	{
		if (parent != FUSE_ROOT_ID || std::strcmp(name, "data") != 0) {
			fuse_reply_err(request, ENOENT);
			return;
		}
		fuse_entry_param entry{};
		entry.ino = 2;
		entry.attr = attributes(entry.ino);
		fuse_reply_entry(request, &entry);
	}

	static void on_getattr(fuse_req_t request, fuse_ino_t inode, fuse_file_info * /*file*/)
	{
		self(request).pass_gate(request, "getattr");
		struct stat status = attributes(inode);
		fuse_reply_attr(request, &status, 0);
	}

	static void on_open(fuse_req_t request, fuse_ino_t /*inode*/, fuse_file_info *file)
	{
		fuse_reply_open(request, file);
	}

	static void on_read(fuse_req_t request, fuse_ino_t /*inode*/, std::size_t count,
			    off_t offset, fuse_file_info * /*file*/)
	{
		self(request).pass_gate(request, "read");
		std::size_t available = offset < size ? static_cast<std::size_t>(size - offset) : 0;
		std::vector<char> data(std::min(count, available));
		for (std::size_t i = 0; i < data.size(); ++i)
			data[i] = static_cast<char>(byte_at(offset + static_cast<off_t>(i)));
		fuse_reply_buf(request, data.data(), data.size());
	}

	std::filesystem::path mount_point_;
	fuse_session *session_ = nullptr;
	bool mounted_ = false;
	std::string why_not_;
	std::vector<std::thread> readers_;
	mutable std::mutex mutex_;
	std::condition_variable opened_;
	bool gate_open_ = true;
	pid_t watched_ = 0;
	std::vector<std::string> asked_by_watched_;
};

} // namespace kaio::testing
