// Where a randomized run takes its decisions from: a seeded generator (the gtest, the stress
// program) or the bytes of a fuzz input (libFuzzer), so one driver serves both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>

namespace kaio::model {

class choices {
public:
	virtual ~choices() = default;
	// A number in [0, bound); bound >= 1.
	virtual std::uint64_t below(std::uint64_t bound) = 0;
	// No more real decisions to take: the run should end.
	virtual bool exhausted() const = 0;

	// True once in `denominator` times.
	bool one_in(std::uint64_t denominator) { return below(denominator) == 0; }
};

class seeded_choices final : public choices {
public:
	explicit seeded_choices(std::uint64_t seed) : random_(seed) {}
	std::uint64_t below(std::uint64_t bound) override
	{
		return std::uniform_int_distribution<std::uint64_t>(0, bound - 1)(random_);
	}
	bool exhausted() const override { return false; }

private:
	std::mt19937_64 random_;
};

// Each decision takes as many bytes as its bound needs; past the end, every answer is 0.
class byte_choices final : public choices {
public:
	explicit byte_choices(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
	std::uint64_t below(std::uint64_t bound) override
	{
		std::uint64_t value = 0;
		for (std::uint64_t range = 1; range < bound && position_ < bytes_.size();
		     range <<= 8)
			value = (value << 8) | bytes_[position_++];
		return value % bound;
	}
	bool exhausted() const override { return position_ >= bytes_.size(); }

private:
	std::span<const std::uint8_t> bytes_;
	std::size_t position_ = 0;
};

} // namespace kaio::model
