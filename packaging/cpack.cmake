# The .deb, built with CPack's DEB generator from the same install rules as `cmake --install`:
# one description of what goes where (no second list in debian/*.install), no debhelper run, and
# it builds from the project's own build directory. dpkg-shlibdeps computes the library
# dependencies. The maintainer scripts in packaging/debian/ do what debhelper would generate:
# the mha-failback group, systemd enable/start/stop, D-Bus reload. Build with packaging/build-deb.sh.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mha-failback)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Seed 9b866b67 maintainers <maintainers@users.noreply.r-seed-9b866b67.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "failback supervisor for MHA-managed MariaDB/MySQL replication pairs")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"mha-failbackd watches MHA (mha4mysql) failovers and brings the old master
back as a replica from the right position, refusing when it has diverged,
validates replication, and switches the master role back to the preferred
master when an operator asks over D-Bus (mha-failbackctl) or by itself in
auto mode. Every decision and side effect is a structured journal record.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# A Debian revision makes it a non-native package (changelog.Debian.gz, as lintian expects).
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, dbus")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "mha4mysql-manager, mariadb-client | default-mysql-client")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
  ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
  ${PROJECT_SOURCE_DIR}/packaging/debian/postrm
  ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Refuse to package binaries built with the crash-test stop points.
set(CPACK_MHAFB_TEST_HOOKS ${MHAFB_TEST_HOOKS})
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/packaging/refuse-test-hooks.cmake)
include(CPack)
