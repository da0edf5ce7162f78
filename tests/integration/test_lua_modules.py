"""lua-api.md §1.2: `require` finds rocks installed into the LuaRocks tree
<app dir>/lua_modules (package.path and package.cpath), after the modules next
to the app and before LuaJIT's defaults.

The rock is written here and installed with Debian's `luarocks make` (no
network): a pure-Lua module, a module with an init.lua and a C module built
against LuaJIT's headers. luarocks comes with scripts/deps.sh; in CI a missing
luarocks fails the test instead of skipping it."""

import os
import shutil
import subprocess
import tempfile
import unittest

from harness import RoverServer, run_rover

ROCKSPEC = """\
package = "rovergreet"
version = "1.0-1"
source = { url = "." }
build = {
  type = "builtin",
  modules = {
    rovergreet = "greet.lua",
    ["rovergreet_pkg.init"] = "pkg/init.lua",
    rovercmath = "cmath.c",
  },
}
"""

GREET = """\
local M = {}
function M.hello(name) return "hello " .. name .. " from the rock" end
return M
"""

PKG_INIT = "return { kind = 'init.lua in the rock' }\n"

CMATH = r"""
#include <lua.h>
#include <lauxlib.h>
static int add(lua_State* L) {
  lua_pushnumber(L, luaL_checknumber(L, 1) + luaL_checknumber(L, 2));
  return 1;
}
int luaopen_rovercmath(lua_State* L) {
  lua_newtable(L);
  lua_pushcfunction(L, add);
  lua_setfield(L, -2, "add");
  return 1;
}
"""

APP = """\
local greet = require("rovergreet")
local pkg = require("rovergreet_pkg")
local cmath = require("rovercmath")
local api = rover.server { log_level = "info", workers = 2 }
function api.get(ctx)
  return { greet = greet.hello("rover"), pkg = pkg.kind, sum = cmath.add(40, 2),
           worker = rover.worker.id }
end
return api
"""

SCRIPT = """\
print(require("rovergreet").hello("script"))
print(require("shadowed").where)
local p, c = package.path, package.cpath
print("path", p:find("lua_modules/share/lua/5.1/?.lua", 1, true) < p:find("/usr/", 1, true))
print("cpath", c:find("lua_modules/lib/lua/5.1/?.so", 1, true) < c:find("/usr/", 1, true))
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


class LuaModulesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not shutil.which("luarocks"):
            if os.environ.get("CI"):
                raise AssertionError("luarocks is not installed (bash scripts/deps.sh)")
            raise unittest.SkipTest("luarocks is not installed (bash scripts/deps.sh)")
        cls.tmp = tempfile.mkdtemp(prefix="rover-rocks-")
        rock = os.path.join(cls.tmp, "rock")
        write(os.path.join(rock, "rovergreet-1.0-1.rockspec"), ROCKSPEC)
        write(os.path.join(rock, "greet.lua"), GREET)
        write(os.path.join(rock, "pkg", "init.lua"), PKG_INIT)
        write(os.path.join(rock, "cmath.c"), CMATH)
        cls.app_dir = os.path.join(cls.tmp, "app")
        # A shadowed module: the one next to the app wins over the rock's tree.
        write(os.path.join(cls.app_dir, "shadowed.lua"), "return { where = 'next to the app' }\n")
        write(os.path.join(cls.app_dir, "lua_modules", "share", "lua", "5.1", "shadowed.lua"),
              "return { where = 'lua_modules' }\n")
        write(os.path.join(cls.app_dir, "app.lua"), APP)
        write(os.path.join(cls.app_dir, "script.lua"), SCRIPT)
        env = dict(os.environ, HOME=cls.tmp)  # luarocks' cache and config stay in the temp dir
        p = subprocess.run(
            ["luarocks", "--lua-version", "5.1", "--tree",
             os.path.join(cls.app_dir, "lua_modules"), "make", "rovergreet-1.0-1.rockspec",
             "LUA_INCDIR=/usr/include/luajit-2.1"],
            cwd=rock, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, timeout=120)
        if p.returncode != 0:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise AssertionError("luarocks make failed:\n" + p.stdout.decode(errors="replace"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_rock_layout(self):
        tree = os.path.join(self.app_dir, "lua_modules")
        for rel in ("share/lua/5.1/rovergreet.lua", "share/lua/5.1/rovergreet_pkg/init.lua",
                    "lib/lua/5.1/rovercmath.so"):
            self.assertTrue(os.path.isfile(os.path.join(tree, rel)), rel)

    def test_server_requires_rock_modules(self):
        server = RoverServer("app.lua", cwd=self.app_dir)
        self.addCleanup(server.stop)
        server.start()
        r = server.get("/")
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body["greet"], "hello rover from the rock")
        self.assertEqual(body["pkg"], "init.lua in the rock")
        self.assertEqual(body["sum"], 42)

    def test_script_paths_and_order(self):
        # Relative app path from the parent directory, and absolute from elsewhere.
        parent, name = os.path.split(self.app_dir)
        for cwd, path in ((parent, os.path.join(name, "script.lua")),
                          ("/", os.path.join(self.app_dir, "script.lua"))):
            with self.subTest(cwd=cwd, path=path):
                p = run_rover([path], cwd=cwd)
                self.assertEqual(p.returncode, 0, p)
                self.assertEqual(p.stdout.decode().splitlines(),
                                 ["hello script from the rock", "next to the app",
                                  "path\ttrue", "cpath\ttrue"])


if __name__ == "__main__":
    unittest.main()
