// A failure that ends a copy. Its message names the file and the reason, ready to be printed
// after "kaio-cp: "; main() turns it into exit status 1.
#pragma once

#include <fmt/core.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace kaio::cp {

class failure : public std::runtime_error {
public:
	using std::runtime_error::runtime_error;
};

// The text of an errno value: "No space left on device".
inline std::string reason_of(int error)
{
	return std::generic_category().message(error);
}

// "cannot open /a/b: No such file or directory"
inline failure system_failure(std::string_view what, int error)
{
	return failure(fmt::format("{}: {}", what, reason_of(error)));
}

// "write /mnt/x/dst at offset 4194304: No space left on device"
inline failure io_failure(std::string_view verb, std::string_view path, std::int64_t offset,
			  int error)
{
	return system_failure(fmt::format("{} {} at offset {}", verb, path, offset), error);
}

} // namespace kaio::cp
