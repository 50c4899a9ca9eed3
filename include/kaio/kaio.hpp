// Everything of kaio's C++ API in one include.
#pragma once

#include "kaio/aligned_buffer.hpp"
#include "kaio/context.hpp"
#include "kaio/inplace_function.hpp"
#include "kaio/io_ctx.h"
#include "kaio/operation.hpp"
#include "kaio/version.h"
