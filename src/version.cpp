// The library's version, compiled in so that a program can ask the copy it runs against.
#include "kaio/version.h"

const char *kaio_version()
{
	return KAIO_VERSION_STRING;
}
