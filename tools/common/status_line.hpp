// A live status line on a terminal (stderr), redrawn at most about once a second, and nothing
// at all when stderr is not a terminal or the caller turns it off (JSON output, scripts).
#pragma once

#include <chrono>
#include <string>

namespace kaio::tools {

class status_line {
public:
	explicit status_line(bool wanted);

	// True when a redraw is due; the caller then builds the text and calls show().
	bool due() const;
	void show(const std::string &text);
	// Erases the line, so that what follows starts on a clean one.
	void clear();

private:
	using clock = std::chrono::steady_clock;
	bool enabled_;
	bool shown_ = false;
	clock::time_point next_;
};

} // namespace kaio::tools
