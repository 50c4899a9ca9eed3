// Counts in the text report and the status line: three digits and a unit, as fio prints IOPS,
// never an exponent.
#include <gtest/gtest.h>

#include "report.hpp"

namespace kaio::bench {
namespace {

TEST(CountText, KeepsThreeDigitsWithAUnit)
{
	EXPECT_EQ(count_text(0), "0");
	EXPECT_EQ(count_text(999.4), "999");
	EXPECT_EQ(count_text(41234), "41.2k");
	EXPECT_EQ(count_text(999'400), "999k");
	EXPECT_EQ(count_text(1'234'000), "1.23M");
}

TEST(CountText, ValueThatRoundsUpToAThousandTakesTheNextUnit)
{
	EXPECT_EQ(count_text(999.6), "1k");
	EXPECT_EQ(count_text(999'600), "1M");
}

} // namespace
} // namespace kaio::bench
