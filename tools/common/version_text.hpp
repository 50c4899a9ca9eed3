// What a tool prints for --version: its own version (the headers it was built with) and that of
// the libkaio it runs on, which differ only if the library was swapped under it.
#pragma once

#include <fmt/core.h>

#include <string>
#include <string_view>

#include "kaio/version.h"

namespace kaio::tools {

inline std::string version_text(std::string_view tool)
{
	return fmt::format("{} {} (libkaio {})", tool, KAIO_VERSION_STRING, kaio_version());
}

} // namespace kaio::tools
