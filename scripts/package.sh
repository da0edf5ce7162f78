#!/usr/bin/env bash
# Builds Rover (Release, into build/) and its Debian package with CPack:
# build/rover-server_<version>_amd64.deb, which installs /usr/bin/rover and
# depends on the runtime libraries the binary links (dpkg-shlibdeps). Install:
#   sudo apt install ./build/rover-server_<version>_amd64.deb
# (The package is not named `rover`: Debian 12 has an unrelated one of that name.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
rm -f build/rover*_amd64.deb
(cd build && cpack -G DEB --config CPackConfig.cmake >/dev/null)
deb=$(ls build/rover*_amd64.deb)
dpkg-deb -f "$deb" Package Version Architecture Depends Conflicts
echo "$deb"
