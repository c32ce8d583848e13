# Install rules for everything besides the two programs: units, D-Bus policy, journal catalog,
# man pages, the example configuration and the package's docs. Paths follow Debian 12 (bookworm):
# units in /lib/systemd/system, the bus policy in /usr/share/dbus-1/system.d.
# Included from daemon/CMakeLists.txt.
set(MHAFB_PKG_DIR ${PROJECT_SOURCE_DIR}/packaging)

install(FILES ${PROJECT_SOURCE_DIR}/systemd/mha-failbackd.service ${PROJECT_SOURCE_DIR}/systemd/mha-manager@.service
  DESTINATION /lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/org.mhafailback.Supervisor1.conf
  DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/dbus-1/system.d)
install(FILES ${PROJECT_SOURCE_DIR}/docs/mha-failback.catalog DESTINATION lib/systemd/catalog)

# Man pages and the Debian changelog are installed gzip -9n compressed, as Debian wants them.
set(MHAFB_GZ_DIR ${CMAKE_CURRENT_BINARY_DIR}/gz)
set(MHAFB_GZ_OUTPUTS)
foreach(pair "docs/man/mha-failbackd.8;mha-failbackd.8.gz" "docs/man/mha-failbackctl.1;mha-failbackctl.1.gz"
             "packaging/debian/changelog;changelog.Debian.gz")
  list(GET pair 0 src)
  list(GET pair 1 out)
  add_custom_command(OUTPUT ${MHAFB_GZ_DIR}/${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${MHAFB_GZ_DIR}
    COMMAND sh -c "gzip -9n < \"$0\" > \"$1\"" ${PROJECT_SOURCE_DIR}/${src} ${MHAFB_GZ_DIR}/${out}
    DEPENDS ${PROJECT_SOURCE_DIR}/${src} VERBATIM)
  list(APPEND MHAFB_GZ_OUTPUTS ${MHAFB_GZ_DIR}/${out})
endforeach()
add_custom_target(mhafb_compressed_docs ALL DEPENDS ${MHAFB_GZ_OUTPUTS})
install(FILES ${MHAFB_GZ_DIR}/mha-failbackd.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${MHAFB_GZ_DIR}/mha-failbackctl.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

set(MHAFB_DOC_DIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/mha-failback)
install(FILES ${MHAFB_GZ_DIR}/changelog.Debian.gz ${MHAFB_PKG_DIR}/debian/copyright DESTINATION ${MHAFB_DOC_DIR})
foreach(doc README.md docs/DBUS-API.md docs/JOURNAL.md docs/CONFIGURATION.md)
  if(EXISTS ${PROJECT_SOURCE_DIR}/${doc})
    install(FILES ${PROJECT_SOURCE_DIR}/${doc} DESTINATION ${MHAFB_DOC_DIR})
  endif()
endforeach()

# The example configuration becomes the conffile; MHA app examples go to the docs.
if(EXISTS ${PROJECT_SOURCE_DIR}/etc/mha-failback.json)
  # No secrets in it (passwords come from password files), so world-readable like any conffile.
  install(FILES ${PROJECT_SOURCE_DIR}/etc/mha-failback.json DESTINATION /etc/mha-failback)
endif()
file(GLOB MHAFB_MHA_EXAMPLES ${PROJECT_SOURCE_DIR}/etc/mha/*.example)
if(MHAFB_MHA_EXAMPLES)
  install(FILES ${MHAFB_MHA_EXAMPLES} DESTINATION ${MHAFB_DOC_DIR}/examples)
endif()
