// The progress bar of a copy or a verification on a terminal: bar, percent, bytes, throughput
// and time left, redrawn about once a second; nothing at all when stderr is not a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "status_line.hpp"

namespace kaio::cp {

class progress_bar {
public:
	progress_bar(std::string label, std::uint64_t total);
	// Erases the bar, so that a message or the shell prompt starts on a clean line.
	~progress_bar();

	progress_bar(const progress_bar &) = delete;
	progress_bar &operator=(const progress_bar &) = delete;

	// Cheap unless a redraw is due: call it after every batch of completions.
	void update(std::uint64_t done);

private:
	using clock = std::chrono::steady_clock;

	std::string text(std::uint64_t done) const;

	std::string label_;
	std::uint64_t total_;
	clock::time_point start_ = clock::now();
	tools::status_line line_{true};
};

} // namespace kaio::cp
