"""Installing Rover: `cmake --install <build> --prefix P` puts the binary in
P/bin and it serves an app from there; CPack's Debian package (what
scripts/package.sh makes) holds /usr/bin/rover and depends on the runtime
libraries. The build directory is the one $ROVER_BIN was built in; a binary
outside a CMake build directory skips these tests.

(That the package installs and serves on a fresh Debian 12 root is
scripts/package_test.sh: debootstrap, dpkg -i, apt-get -f install, curl.)"""

import os
import shutil
import subprocess
import tempfile
import unittest

from harness import RoverServer, rover_bin, write_temp_app

BUILD_DIR = os.path.dirname(rover_bin())


def run(cmd, **kw):
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=300, **kw)


@unittest.skipUnless(os.path.exists(os.path.join(BUILD_DIR, "cmake_install.cmake")),
                     "ROVER_BIN is not in a CMake build directory")
class InstallTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="rover-install-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def version(self, binary):
        p = run([binary, "--version"])
        self.assertEqual(p.returncode, 0, p)
        return p.stdout.decode().strip()

    def test_install_prefix_serves(self):
        prefix = os.path.join(self.tmp, "prefix")
        p = run(["cmake", "--install", BUILD_DIR, "--prefix", prefix])
        self.assertEqual(p.returncode, 0, p.stdout)
        installed = os.path.join(prefix, "bin", "rover")
        self.assertTrue(os.access(installed, os.X_OK), os.listdir(prefix))
        self.assertEqual(self.version(installed), self.version(rover_bin()))
        d = write_temp_app(self, "local api = rover.server { log_level = 'info' }\n"
                                 "function api.get(ctx) return 'installed' end\n"
                                 "return api\n")
        server = RoverServer(argv=["app.lua", "--port", "0"], cwd=d, binary=installed)
        server.start()
        self.addCleanup(server.stop)
        self.assertEqual(server.get("/").body, b"installed")
        self.assertEqual(server.proc.args[0], installed)

    @unittest.skipUnless(shutil.which("cpack") and shutil.which("dpkg-deb"), "cpack/dpkg-deb missing")
    def test_debian_package(self):
        out = os.path.join(self.tmp, "pkg")
        p = run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD_DIR, "CPackConfig.cmake"),
                 "-B", out])
        self.assertEqual(p.returncode, 0, p.stdout)
        debs = [f for f in os.listdir(out) if f.endswith("_amd64.deb")]
        self.assertEqual(len(debs), 1, os.listdir(out))
        deb = os.path.join(out, debs[0])
        version = self.version(rover_bin()).split()[1]
        self.assertEqual(debs[0], "rover-server_%s_amd64.deb" % version)

        def field(name):
            return run(["dpkg-deb", "-f", deb, name]).stdout.decode().strip()
        self.assertEqual(field("Package"), "rover-server")
        self.assertEqual(field("Version"), version)
        self.assertEqual(field("Conflicts"), "rover")
        depends = field("Depends")
        for lib in ("libluajit2-5.1-2", "libcurl4", "libsqlite3-0", "libpq5", "zlib1g",
                    "libbrotli1", "libssl3", "libfmt9", "libsimdjson14", "libc6"):
            self.assertIn(lib, depends)
        listing = run(["dpkg-deb", "-c", deb]).stdout.decode()
        self.assertRegex(listing, r"\./usr/bin/rover\n")
        root = os.path.join(self.tmp, "root")
        p = run(["dpkg-deb", "-x", deb, root])
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual(self.version(os.path.join(root, "usr", "bin", "rover")),
                         "rover " + version)


if __name__ == "__main__":
    unittest.main()
