#include "progress.hpp"

#include <fmt/core.h>

#include <cmath>
#include <utility>

#include "byte_size.hpp"

namespace kaio::cp {
namespace {

constexpr int bar_width = 24;

std::string bar(double fraction)
{
	int filled = static_cast<int>(fraction * bar_width);
	return fmt::format("[{:#<{}}{:<{}}]", "", filled, "", bar_width - filled);
}

// 75 -> "1:15", 3725 -> "1:02:05"
std::string duration(double seconds)
{
	long long whole = std::llround(seconds);
	if (whole >= 3600)
		return fmt::format("{}:{:02}:{:02}", whole / 3600, whole / 60 % 60, whole % 60);
	return fmt::format("{}:{:02}", whole / 60, whole % 60);
}

} // namespace

progress_bar::progress_bar(std::string label, std::uint64_t total)
	: label_(std::move(label)), total_(total)
{}

progress_bar::~progress_bar()
{
	line_.clear();
}

void progress_bar::update(std::uint64_t done)
{
	if (line_.due())
		line_.show(text(done));
}

std::string progress_bar::text(std::uint64_t done) const
{
	double fraction =
		total_ == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total_);
	double seconds = std::chrono::duration<double>(clock::now() - start_).count();
	double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
	std::string left = rate > 0 ? duration(static_cast<double>(total_ - done) / rate) : "--:--";
	return fmt::format("{} {} {:3.0f}%  {} / {}  {}/s  ETA {}", label_, bar(fraction),
			   fraction * 100, tools::format_bytes(static_cast<double>(done)),
			   tools::format_bytes(static_cast<double>(total_)),
			   tools::format_bytes(rate), left);
}

} // namespace kaio::cp
