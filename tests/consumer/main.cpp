// Writes a block through kaio::context, reads it back and compares, and checks that the loaded
// library is the version of the headers. Exits 0 when all holds, 1 on any failure, 77 (skip) when
// $KAIO_TEST_DIR (else /tmp) refuses O_DIRECT.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include <kaio/kaio.hpp>

int main()
{
	std::printf("headers %s, libkaio %s\n", KAIO_VERSION_STRING, kaio_version());
	if (std::strcmp(kaio_version(), KAIO_VERSION_STRING) != 0)
		return 1;
	const char *base = std::getenv("KAIO_TEST_DIR");
	std::string directory = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
				"/kaio-consumer-XXXXXX";
	if (::mkdtemp(directory.data()) == nullptr) {
		std::printf("skip: cannot create a directory: %s\n", std::strerror(errno));
		return 77;
	}
	std::string path = directory + "/data";
	int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
	if (fd < 0) {
		std::printf("skip: cannot open an O_DIRECT file in %s: %s\n", directory.c_str(),
			    std::strerror(errno));
		::rmdir(directory.c_str());
		return 77;
	}

	int status = 1;
	try {
		kaio::context ctx(4);
		kaio::aligned_buffer written(4096);
		kaio::aligned_buffer read(4096);
		for (std::size_t i = 0; i < written.size(); ++i)
			written.data()[i] = static_cast<std::byte>(i * 13 + 1);
		// Results start out impossible: a callback sets a length or a negative errno.
		constexpr int pending = 1;
		int wrote = pending;
		int got = pending;
		if (ctx.write(fd, written, 0, [&wrote](int result) { wrote = result; }) > 0) {
			while (wrote == pending && ctx.process() > 0) {
			}
		}
		if (ctx.read(fd, read, 0, [&got](int result) { got = result; }) > 0) {
			while (got == pending && ctx.process() > 0) {
			}
		}
		bool same = std::memcmp(read.data(), written.data(), read.size()) == 0;
		std::printf("write: %d, read: %d, bytes %s\n", wrote, got,
			    same ? "equal" : "differ");
		if (wrote == 4096 && got == 4096 && same)
			status = 0;
	} catch (const std::exception &error) {
		std::printf("kaio: %s\n", error.what());
	}
	::close(fd);
	::unlink(path.c_str());
	::rmdir(directory.c_str());
	return status;
}
