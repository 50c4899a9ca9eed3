// Why kaio-bench cannot go on. main() prints "kaio-bench: <what>" and exits with the status:
// 2 for bad input (an option, or a filename that cannot be benchmarked), 1 for anything else.
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

namespace kaio::bench {

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

class failure : public std::runtime_error {
public:
	failure(int status, const std::string &what) : std::runtime_error(what), status_(status) {}

	int status() const noexcept { return status_; }

private:
	int status_;
};

inline failure usage_failure(const std::string &what)
{
	return {exit_usage, what};
}

inline failure run_failure(const std::string &what)
{
	return {exit_failure, what};
}

// The text of an errno value: "Input/output error".
inline std::string reason_of(int error)
{
	return std::generic_category().message(error);
}

} // namespace kaio::bench
