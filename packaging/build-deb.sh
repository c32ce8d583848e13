#!/bin/bash
# Builds the .deb into packaging/out/ from a release build of its own (no crash-test stop points),
# then runs lintian on it.
# Usage: packaging/build-deb.sh [BUILD_DIR]   (default: build-deb next to the sources)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-deb}
# Debian's hardening flags (fortify, stack protector, relro, bindnow, PIE), as dpkg-buildpackage
# would pass them.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cxxflags="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CXXFLAGS)"
ldflags="$(dpkg-buildflags --get LDFLAGS)"
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_INSTALL_PREFIX=/usr \
  -DCMAKE_CXX_FLAGS="$cxxflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" -DMHAFB_BUILD_TESTS=OFF \
  -DMHAFB_TEST_HOOKS=OFF >/dev/null
ninja -C "$build" mha-failbackd mha-failbackctl mhafb_compressed_docs
mkdir -p "$src/packaging/out"
(cd "$build" && cpack -G DEB -B "$src/packaging/out" >/dev/null)
deb=$(ls -t "$src"/packaging/out/mha-failback_*.deb | head -1)
echo "built $deb"
if command -v lintian >/dev/null; then
  lintian --profile debian --suppress-tags-from-file "$src/packaging/lintian-justified" "$deb" || true
fi
