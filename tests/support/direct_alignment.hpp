// The offset alignment O_DIRECT needs for a test's file, and a skip for tests that need 512.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "support/direct_file.hpp"

namespace kaio::testing {

// The offset alignment O_DIRECT needs for this file: 512 unless the kernel says more.
inline unsigned direct_alignment(const direct_file &file)
{
	struct statx about {};
	if (::statx(AT_FDCWD, file.path().c_str(), 0, STATX_DIOALIGN, &about) == 0 &&
	    (about.stx_mask & STATX_DIOALIGN) != 0 && about.stx_dio_offset_align != 0)
		return about.stx_dio_offset_align;
	return 512;
}

#define KAIO_NEED_512_ALIGNMENT(file)                                                              \
	if (unsigned need = ::kaio::testing::direct_alignment(file); need > 512)                   \
	GTEST_SKIP() << "this filesystem needs " << need << "-byte aligned O_DIRECT"

} // namespace kaio::testing
