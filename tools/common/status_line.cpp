#include "status_line.hpp"

#include <unistd.h>

#include <cstdio>

namespace kaio::tools {

status_line::status_line(bool wanted)
	: enabled_(wanted && ::isatty(STDERR_FILENO) == 1), next_(clock::now())
{}

bool status_line::due() const
{
	return enabled_ && clock::now() >= next_;
}

void status_line::show(const std::string &text)
{
	if (!enabled_)
		return;
	// A status line that cannot be shown is no reason to stop the work it reports on.
	(void)std::fprintf(stderr, "\r\033[K%s", text.c_str());
	(void)std::fflush(stderr);
	shown_ = true;
	next_ = clock::now() + std::chrono::seconds(1);
}

void status_line::clear()
{
	if (!shown_)
		return;
	(void)std::fputs("\r\033[K", stderr);
	(void)std::fflush(stderr);
	shown_ = false;
}

} // namespace kaio::tools
