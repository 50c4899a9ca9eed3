// A loop device over a scratch image (as root), detached however the test ends.
#pragma once

#include <filesystem>
#include <string>

#include "support/run_command.hpp"

namespace kaio::testing {

class loop_device {
public:
	explicit loop_device(const std::filesystem::path &image)
	{
		command_result attached =
			run_command("losetup --find --show " + shell_quoted(image));
		if (attached.exit_status == 0)
			path_ = attached.output.substr(0, attached.output.find('\n'));
		else
			why_not_ =
				"losetup cannot attach " + image.string() + ": " + attached.output;
	}
	~loop_device()
	{
		if (!path_.empty())
			run_command("losetup -d " + shell_quoted(path_));
	}
	loop_device(const loop_device &) = delete;
	loop_device &operator=(const loop_device &) = delete;

	const std::string &path() const { return path_; }
	const std::string &why_not() const { return why_not_; }

private:
	std::string path_;
	std::string why_not_;
};

} // namespace kaio::testing
