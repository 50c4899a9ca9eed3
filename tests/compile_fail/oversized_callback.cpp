// Must not compile: a callback capturing more than the inline storage holds would need the heap.
#include <array>

#include "kaio/inplace_function.hpp"

int main()
{
	std::array<char, 64> captured{};
	kaio::completion_callback callback = [captured](int) { (void)captured; };
	return 0;
}
