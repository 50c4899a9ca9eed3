// A randomized run of the C API against a plain model of what must happen. It drives random
// sequences of every call (reads, writes and their vector forms, fsync, fdsync, process, poll,
// flush, cancels of live, finished and garbage keys, destroy and a new context), with callbacks
// that submit and cancel in turn, on a small O_DIRECT file, through random_fault_kernel with a
// random fault plan. After every step it checks what a user relies on: each callback exactly
// once with the result the kernel delivered for its request, keys of live requests unique,
// counters that agree with the kernel's, and every block of the file holding what the model says
// (a block some failed write may or may not have reached holds, sector by sector, either).
//
// On io_uring the run registers the file and a pool of buffers at random, either way. Without
// the seam it drives the real ring (completions read from its memory, the ring bound to one
// thread at random) and holds every callback to what the kernel owes a request on a regular
// file (the whole block, or -ECANCELED after a cancel). It also reads a pipe then, which the
// kernel can really cancel: such a read waits until wait_cb writes a message for it (as another
// fiber would), and every message written must be read once, whole, or still be in the pipe.
// Through the seam it checks what it checks on AIO, plus the cancels io_uring really grants.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "kaio/aligned_buffer.hpp"
#include "kaio/io_ctx.h"
#include "model/choices.hpp"
#include "support/random_fault_kernel.hpp"

namespace kaio::model {

enum class request_kind { read, write, readv, writev, fsync, fdsync, pipe_read };

struct run_summary {
	std::string failure; // empty: every promise held
	unsigned long long steps = 0;
	unsigned long long requests = 0;
	unsigned long long faults = 0;
};

class model_run {
public:
	// A file in `directory` (created and removed by the run), and contexts on `backend`
	// (IO_CTX_BACKEND_AIO, always through the fault seam, or IO_CTX_BACKEND_URING, through it
	// when `faults`).
	model_run(choices &choose, const std::string &directory,
		  unsigned backend = IO_CTX_BACKEND_AIO, bool faults = true);
	~model_run();
	model_run(const model_run &) = delete;
	model_run &operator=(const model_run &) = delete;

	// Runs up to `steps` steps (fewer when the choices run out), then destroys the context.
	run_summary run(unsigned long long steps);

private:
	struct request;
	struct block_state {
		std::vector<std::uint32_t> acceptable; // tags any sector may hold
		request *busy = nullptr;               // the one request in flight on it
	};
	enum class follow_up { none, submit, cancel_live, cancel_self };
	using iocb_identity = std::tuple<int, int, long long>; // opcode, fd, offset

	static constexpr int blocks = 24;
	static constexpr int sync_fds = 4;

	bool open_file(const std::string &directory);
	request_kind some_read();
	void feed_pipe();
	void check_pipe_message(const request &r, int result);
	void check_pipe_holds_the_rest();
	void stamp_file();
	bool on_uring() const { return backend_ == IO_CTX_BACKEND_URING; }
	void create_context();
	void register_at_random();
	void destroy_context();
	void step();
	void submit_random(bool from_callback);
	void submit(request_kind kind, bool from_callback);
	int call_submit(request &r);
	void process(bool may_wait);
	void flush();
	long accepted();
	void cancel_live();
	void cancel_finished();
	void cancel_garbage();
	void expect_cancel_answer(int key, request *live, int answer);
	void on_complete(request &r, int result);
	void check_result(const request &r, int result);
	void check_uring_result(const request &r, int result);
	void update_model(request &r, int result);
	void run_follow_up(request &r);
	void on_delivery(const iocb &control, int result, bool injected);
	void check_counters();
	void check_kernel_counters(const io_ctx_stats &stats);
	void check_file();
	void check_sectors(const std::byte *data, int block, std::size_t count, const char *what);
	void fail(const std::string &what);
	void note(const std::string &action);
	iocb_identity identity_of(const request &r) const;
	kaio::testing::fault_plan random_plan();
	static void completion_trampoline(int result, void *data);
	static int wait_readable(int fd);
	bool wait_failed_since(unsigned long long before) const { return wait_failures_ != before; }

	choices &choose_;
	unsigned backend_;
	bool faults_;
	std::string directory_;
	std::string path_;
	int fd_ = -1;
	int sync_fd_[sync_fds] = {-1, -1, -1, -1};
	request *sync_busy_[sync_fds] = {};
	std::unique_ptr<kaio::testing::random_fault_kernel> kernel_; // made by run() when faults_
	// io_uring without the seam: reads of the pipe, a ring bound to one thread at random.
	bool on_real_ring() const { return on_uring() && !faults_; }
	// io_uring: one block's room per block, registered with the context when pool_registered_;
	// a read or write then uses its block's room (one request per block at a time).
	kaio::aligned_buffer pool_;
	bool pool_registered_ = false;
	int pipe_[2] = {-1, -1};              // io_uring: read by requests, written by wait_cb
	std::set<std::uint32_t> pipe_unread_; // messages written and not read (by tag)
	std::uint32_t pipe_written_ = 0;
	int pipe_reads_live_ = 0;
	io_ctx ctx_{};
	bool live_context_ = false;
	int capacity_ = 1;
	unsigned flags_ = 0;
	std::uint64_t wait_failure_odds_ = 0; // wait_cb fails once in this many calls; 0: never
	unsigned long long wait_failures_ = 0;
	// While destroy runs: wait_failures_ when it began (once wait_cb fails there, io_uring's
	// reads of the pipe may end -ECANCELED).
	std::optional<unsigned long long> destroy_began_at_;

	std::deque<std::unique_ptr<request>> requests_;
	std::map<int, request *> live_;  // by key: submitted, callback not run yet
	std::vector<int> finished_keys_; // keys whose callback ran
	std::map<iocb_identity, request *> in_flight_;
	block_state blocks_[blocks];
	std::uint32_t next_tag_ = 1;
	unsigned long long callbacks_run_ = 0; // in the current context
	long accepted_at_create_ = 0;          // the kernel's count when it was created

	std::optional<std::string> failure_;
	std::deque<std::string> recent_; // the last actions, for the failure report
	unsigned long long steps_ = 0;
};

} // namespace kaio::model
