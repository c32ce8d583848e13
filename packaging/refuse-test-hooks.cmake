# CPack pre-build script: a package is never built from binaries with the crash-test stop points
# (MHAFB_TEST_HOOKS), which stop the daemon where the environment says.
if(CPACK_MHAFB_TEST_HOOKS)
  message(FATAL_ERROR "this build has MHAFB_TEST_HOOKS=ON (crash-test stop points); configure the "
                      "package build with -DMHAFB_TEST_HOOKS=OFF (packaging/build-deb.sh does)")
endif()
