# Debian packages with `cpack -G DEB` from a build configured with -DCMAKE_INSTALL_PREFIX=/usr
# (so that the library lands in the multiarch directory): one package per install component.
#   libkaio      runtime      the shared library, named after its soname's major version
#   libkaio-dev  development  headers, libkaio.a, the libkaio.so link, CMake package, kaio.pc,
#                             library man pages
#   kaio-tools   tools        kaio-bench and kaio-cp with their man pages
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME kaio)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY ${PROJECT_DESCRIPTION})
set(CPACK_PACKAGE_CONTACT "kaio maintainers <kaio-maintainers@localhost>")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime development)
if(KAIO_BUILD_TOOLS)
  list(APPEND CPACK_COMPONENTS_ALL tools)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)

# dpkg-shlibdeps finds what the binaries need (libaio1, libstdc++6, libfmt9, ...). libkaio gets a
# shlibs file, so that programs packaged against it depend on it; CPack adds its ldconfig calls.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libkaio)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
    "${PROJECT_DESCRIPTION}: shared library\nThe io_ctx C API and the kaio::context C++ API.")

set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME libkaio-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS "libkaio (= ${PROJECT_VERSION}), libaio-dev, liburing-dev")
set(CPACK_COMPONENT_DEVELOPMENT_DESCRIPTION
    "${PROJECT_DESCRIPTION}: development files\nHeaders, static library, CMake package and pkg-config file.")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME kaio-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION utils)
set(CPACK_COMPONENT_TOOLS_DESCRIPTION
    "${PROJECT_DESCRIPTION}: tools\nkaio-bench, a storage benchmark in the manner of fio, and kaio-cp, an O_DIRECT copy.")

include(CPack)
