// libFuzzer target: the fuzz input is the sequence of decisions of a model run (see
// tests/model/model_run.hpp): the fault plan, the context's options, then step after step of
// API calls and callback actions. Any broken promise aborts, with the model's report.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include "model/model_run.hpp"

namespace {

std::string test_directory()
{
	const char *base = std::getenv("KAIO_TEST_DIR");
	return base != nullptr ? base : "/tmp";
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	kaio::model::byte_choices choose(std::span<const std::uint8_t>(data, size));
	kaio::model::model_run run(choose, test_directory());
	kaio::model::run_summary summary = run.run(1000);
	if (!summary.failure.empty()) {
		std::fprintf(stderr, "kaio model: %s\n", summary.failure.c_str());
		std::abort();
	}
	return 0;
}
