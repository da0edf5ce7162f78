"""lua-api.md §1 (command line, app file, startup, exit codes), §2 (config
validation) and the route-tree startup errors of §4."""

import os
import re
import socket
import unittest

from harness import (APPS_DIR, BANNER_RE, REPO_ROOT, RoverServer, app_line,
                     run_rover, write_temp_app)

VALID_METHODS = "Valid methods: get, post, put, patch, delete, head, options"


def lines(data):
    return data.decode("utf-8", errors="replace").splitlines()


class CliServeTest(unittest.TestCase):
    """Ways of starting a server."""

    def serve(self, argv, cwd=None):
        server = RoverServer(argv=argv, cwd=cwd)
        self.addCleanup(server.stop)
        server.start()
        return server

    def test_invocation_forms(self):
        app = "tests/apps/cli_basic.lua"
        for argv in ([app, "--port", "0"],
                     ["run", app, "--port", "0"],
                     ["--port", "0", app],
                     ["run", "--port", "0", app],
                     ["--workers", "1", app, "--port", "0"]):
            with self.subTest(argv=argv):
                server = self.serve(argv)
                r = server.get("/")
                self.assertEqual(r.status, 200)
                self.assertEqual(r.json(), {"count": 1})
                self.assertEqual(server.stop(), 0, "exit code after SIGTERM")

    def test_cli_overrides_config_before_validation(self):
        server = self.serve(["tests/apps/cli_override.lua", "--port", "0",
                             "--host", "127.0.0.1", "--workers", "3"])
        self.assertEqual(server.banner_host, "127.0.0.1")
        r = server.get("/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["count"], 3)

    def test_config_without_overrides_fails(self):
        p = run_rover(["tests/apps/cli_override.lua"])
        self.assertEqual(p.returncode, 1)
        self.assertTrue(lines(p.stderr)[0].startswith("❌ Error: "), p.stderr)

    def test_default_config(self):
        d = write_temp_app(self, "local api = rover.server()\n"
                                 "function api.get(ctx) return 'defaults' end\n"
                                 "return api\n")
        server = self.serve(["app.lua", "--port", "0"], cwd=d)
        self.assertEqual(server.banner_host, "localhost")
        # Default log level is debug.
        self.assertIsNotNone(server.wait_log("Debug mode enabled$", start=server.banner_index))
        self.assertEqual(server.get("/").body, b"defaults")

    def test_banner_shows_configured_host(self):
        d = write_temp_app(self, "local api = rover.server { host = '127.0.0.1', log_level = 'info' }\n"
                                 "function api.get(ctx) return ctx.client_ip end\n"
                                 "return api\n")
        server = self.serve(["app.lua", "--port", "0"], cwd=d)
        self.assertEqual(server.banner_host, "127.0.0.1")
        self.assertEqual(server.get("/").body, b"127.0.0.1")

    @unittest.skipUnless(socket.has_ipv6, "no IPv6")
    def test_ipv6_loopback_host(self):
        try:
            probe = socket.socket(socket.AF_INET6)
            probe.bind(("::1", 0))
            probe.close()
        except OSError:
            self.skipTest("no IPv6 loopback")
        d = write_temp_app(self, "local api = rover.server { host = '::1', log_level = 'info' }\n"
                                 "function api.get(ctx) return ctx.client_ip end\n"
                                 "return api\n")
        server = self.serve(["app.lua", "--port", "0"], cwd=d)
        self.assertEqual(server.banner_host, "::1")
        r = server.get("/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"::1")

    def test_module_level_code_runs_per_worker(self):
        d = write_temp_app(self, "print('loaded in worker ' .. rover.worker.id)\n"
                                 "local api = rover.server { workers = 3, log_level = 'info' }\n"
                                 "function api.get(ctx) return 'x' end\n"
                                 "return api\n")
        server = self.serve(["app.lua", "--port", "0"], cwd=d)
        for i in (1, 2, 3):
            self.assertIsNotNone(server.wait_log("^loaded in worker %d$" % i),
                                 server.stdout.text())
        self.assertEqual(server.get("/").body, b"x")
        loaded = [l for l in server.stdout.lines() if l.startswith("loaded in worker ")]
        self.assertEqual(len(loaded), 3, loaded)


class CliUsageTest(unittest.TestCase):

    def test_help(self):
        for flag in ("-h", "--help"):
            with self.subTest(flag=flag):
                p = run_rover([flag])
                self.assertEqual(p.returncode, 0, p)
                self.assertIn(b"rover", p.stdout)
                self.assertIn(b"--port", p.stdout)
                self.assertEqual(p.stderr, b"")

    def test_version(self):
        for flag in ("-V", "--version"):
            with self.subTest(flag=flag):
                p = run_rover([flag])
                self.assertEqual(p.returncode, 0, p)
                self.assertRegex(p.stdout.decode(), r"^rover \S+\n$")

    def test_usage_errors(self):
        app = "tests/apps/cli_basic.lua"
        for argv in ([], ["run"], ["--port", "0"], ["--bogus", app], [app, "--bogus"],
                     [app, "-x"], [app, "--port"], [app, "--port", "abc"],
                     [app, "--port", "12abc"], [app, "--workers", "many"],
                     [app, "--workers"], [app, "--host"]):
            with self.subTest(argv=argv):
                p = run_rover(argv)
                self.assertEqual(p.returncode, 2, p)
                self.assertNotEqual(p.stderr.strip(), b"")
                self.assertEqual(p.stdout, b"")

    def test_args_after_double_dash(self):
        p = run_rover(["tests/apps/cli_args.lua", "--", "one", "two words", "--port", "-h"])
        self.assertEqual(p.returncode, 0, p)
        self.assertEqual(lines(p.stdout), ["arg0=tests/apps/cli_args.lua", "n=4", "1=one",
                                           "2=two words", "3=--port", "4=-h"])

    def test_args_with_options_before_double_dash(self):
        p = run_rover(["run", "--workers", "2", "tests/apps/cli_args.lua", "--", "x"])
        self.assertEqual(p.returncode, 0, p)
        self.assertEqual(lines(p.stdout), ["arg0=tests/apps/cli_args.lua", "n=1", "1=x"])

    def test_arg_without_extra_args(self):
        p = run_rover(["./tests/apps/cli_args.lua"])
        self.assertEqual(p.returncode, 0, p)
        self.assertEqual(lines(p.stdout), ["arg0=./tests/apps/cli_args.lua", "n=0"])


class ScriptModeTest(unittest.TestCase):

    def test_script_runs_and_exits_0(self):
        p = run_rover(["tests/apps/cli_script.lua"])
        self.assertEqual(p.returncode, 0, p)
        self.assertEqual(lines(p.stdout), ["script ran", "rover is table"])

    def test_script_return_values(self):
        for ret in ("", "return nil", "return 42", "return 'text'", "return {}",
                    "return true"):
            with self.subTest(ret=ret):
                d = write_temp_app(self, "print('ran')\n" + ret + "\n")
                p = run_rover(["app.lua"], cwd=d)
                self.assertEqual(p.returncode, 0, p)
                self.assertEqual(lines(p.stdout), ["ran"])

    def test_script_raises_exit_1(self):
        path = "tests/apps/cli_script_raise.lua"
        p = run_rover([path])
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("before the error", lines(p.stdout))
        err = lines(p.stderr)
        self.assertEqual(err[0], "❌ Error loading %s:" % path)
        n = app_line(REPO_ROOT / path, "marker:raise")
        self.assertEqual(err[1], "%s:%d: script failed" % (path, n))

    def test_require_next_to_app(self):
        d = write_temp_app(self, "local helper = require('helper')\n"
                                 "local pkg = require('pkg')\n"
                                 "print(helper.value .. ' ' .. pkg.value)\n")
        with open(os.path.join(d, "helper.lua"), "w") as f:
            f.write("return { value = 'from-helper' }\n")
        os.makedirs(os.path.join(d, "pkg"))
        with open(os.path.join(d, "pkg", "init.lua"), "w") as f:
            f.write("return { value = 'from-pkg-init' }\n")
        # Run from the parent directory with a relative path, and from the
        # repository root with an absolute path.
        parent, name = os.path.split(d)
        for cwd, path in ((parent, os.path.join(name, "app.lua")),
                          (str(REPO_ROOT), os.path.join(d, "app.lua"))):
            with self.subTest(cwd=cwd, path=path):
                p = run_rover([path], cwd=cwd)
                self.assertEqual(p.returncode, 0, p)
                self.assertEqual(lines(p.stdout), ["from-helper from-pkg-init"])

    def test_require_in_server_handler(self):
        d = write_temp_app(self, "local helper = require('helper')\n"
                                 "local api = rover.server { log_level = 'info', workers = 2 }\n"
                                 "function api.get(ctx) return helper.value end\n"
                                 "return api\n")
        with open(os.path.join(d, "helper.lua"), "w") as f:
            f.write("return { value = 'served-from-helper' }\n")
        server = RoverServer(argv=[os.path.join(d, "app.lua"), "--port", "0"],
                             cwd=str(REPO_ROOT))
        self.addCleanup(server.stop)
        server.start()
        self.assertEqual(server.get("/").body, b"served-from-helper")


class StartupErrorTest(unittest.TestCase):
    """§1.3: startup failures go to stderr, exit 1, nothing served."""

    def run_app(self, text, name="app.lua"):
        d = write_temp_app(self, text, name)
        # No --port: it would replace the config's port (the app never
        # serves when the test passes; a timeout means it wrongly started).
        p = run_rover([name], cwd=d, timeout=15)
        self.assertEqual(p.returncode, 1, p)
        self.assertIsNone(BANNER_RE.search(p.stdout.decode("utf-8", "replace")), p.stdout)
        return lines(p.stderr)

    def assertFirstLine(self, text, expected):
        err = self.run_app(text)
        self.assertTrue(err, "no stderr output")
        if hasattr(expected, "match"):
            self.assertRegex(err[0], expected)
        else:
            self.assertEqual(err[0], expected)
        return err

    def test_unreadable_file(self):
        p = run_rover(["tests/apps/does_not_exist.lua"])
        self.assertEqual(p.returncode, 1, p)
        self.assertRegex(lines(p.stderr)[0],
                         r"^❌ Error: cannot read app file 'tests/apps/does_not_exist\.lua': \S.*$")
        p = run_rover(["tests/apps"])
        self.assertEqual(p.returncode, 1, p)
        self.assertRegex(lines(p.stderr)[0],
                         r"^❌ Error: cannot read app file 'tests/apps': \S.*$")

    def test_syntax_error(self):
        for name in ("app.lua", "sub/app.lua"):
            with self.subTest(name=name):
                err_lines = self.run_app("local a = 1\nlocal x = = 1\nreturn x\n", name)
                self.assertEqual(err_lines[0], "❌ Error loading %s:" % name)
                self.assertTrue(err_lines[1].startswith("%s:2:" % name), err_lines)

    def test_runtime_error_at_load(self):
        err = self.run_app("local api = rover.server {}\n\nerror('load failed')\nreturn api\n")
        self.assertEqual(err[:2], ["❌ Error loading app.lua:", "app.lua:3: load failed"])

    def test_config_errors(self):
        cases = [
            ("port = '80'", "port should be a number"),
            ("port = true", "port should be a number"),
            ("port = 70000", "port must be an integer between 0 and 65535"),
            ("port = 65536", "port must be an integer between 0 and 65535"),
            ("port = -1", "port must be an integer between 0 and 65535"),
            ("port = 80.5", "port must be an integer between 0 and 65535"),
            ("workers = 0", "workers must be an integer >= 1"),
            ("workers = -2", "workers must be an integer >= 1"),
            ("workers = 1.5", "workers must be an integer >= 1"),
            ("workers = '2'", "workers should be a number"),
            ("log_level = 'verbose'", "log_level must be one of: debug, info, warn, error, nope"),
            ("log_level = 5", "log_level should be a string"),
            ("host = 5", "host should be a string"),
            ("expose_errors = 'yes'", "expose_errors should be a boolean"),
            # strict mode (server-features.md §14) would refuse the public host first
            ("host = 'no-such-host.invalid', allow_public_bind = true, allow_insecure_http = true",
             "Invalid host 'no-such-host.invalid'"),
        ]
        for config, message in cases:
            with self.subTest(config=config):
                self.assertFirstLine(
                    "local api = rover.server { %s }\n"
                    "function api.get() return 'x' end\nreturn api\n" % config,
                    "❌ Error: " + message)

    def test_config_not_a_table(self):
        for arg in ("'x'", "5", "true"):
            with self.subTest(arg=arg):
                self.assertFirstLine(
                    "local api = rover.server(%s)\nfunction api.get() return 'x' end\n"
                    "return api\n" % arg, "❌ Error: Server config must be a table")

    def route_error(self, body):
        return ("local api = rover.server { log_level = 'info' }\n"
                "local f = function() return 'x' end\n" + body + "\nreturn api\n")

    def test_invalid_path_segment(self):
        for key in ("a b", "caf\u00e9", "a/b", "a?b", "a#b", "a%b", ""):
            with self.subTest(key=key):
                self.assertFirstLine(
                    self.route_error("api.users[%r].get = f" % key),
                    re.compile("^❌ Error: Invalid path segment '%s' at '/users(/%s)?'$"
                               % (re.escape(key), re.escape(key))))

    def test_empty_parameter_name(self):
        self.assertFirstLine(self.route_error("api.users.p_.get = f"),
                             re.compile(r"^❌ Error: Empty parameter name at path "
                                        r"'/users(/p_|/\{\})?'$"))

    def test_duplicate_parameter_name(self):
        self.assertFirstLine(self.route_error("api.a.p_id.b.p_id.get = f"),
                             "❌ Error: Duplicate parameter name 'id' in route '/a/{id}/b/{id}'")

    def test_handler_must_be_function(self):
        self.assertFirstLine(self.route_error("api.items.post = {}"),
                             "❌ Error: Handler for POST /items must be a function")
        self.assertFirstLine(self.route_error("api.items.p_id.DELETE = { x = 1 }"),
                             "❌ Error: Handler for DELETE /items/{id} must be a function")

    def test_unknown_method(self):
        self.assertFirstLine(self.route_error("api.items.fetch = f"),
                             "❌ Error: Unknown HTTP method 'fetch' at path '/items'. "
                             + VALID_METHODS)
        self.assertFirstLine(self.route_error("api.helper = f"),
                             "❌ Error: Unknown HTTP method 'helper' at path '/'. "
                             + VALID_METHODS)
        self.assertFirstLine(self.route_error("api.a.p_id.trace = f"),
                             "❌ Error: Unknown HTTP method 'trace' at path '/a/{id}'. "
                             + VALID_METHODS)

    def test_reserved_names(self):
        for key in ("config", "json", "error", "no_content", "on_error", "on_start",
                    "__rover_x"):
            with self.subTest(key=key):
                self.assertFirstLine(
                    self.route_error("api.users[%r].get = f" % key),
                    re.compile("^❌ Error: Reserved name '%s' cannot be used as a path "
                               r"segment \(at '/users(/%s)?'\)$"
                               % (re.escape(key), re.escape(key))))

    def test_root_builder_names_are_not_routes(self):
        # api.json is the builder: a method set on it would otherwise serve nothing at /json
        for key in ("json", "text", "html", "error", "redirect", "stream", "sse"):
            with self.subTest(key=key):
                self.assertFirstLine(
                    self.route_error("api[%r].get = f" % key),
                    "❌ Error: Reserved name '%s' cannot be used as a path segment (at '/%s'): "
                    "it is the api.%s builder; use a parameter route or another name"
                    % (key, key, key))

    def test_reserved_empty_nodes_ignored(self):
        d = write_temp_app(self, self.route_error(
            "local _ = api.users.config\nlocal _ = api.users.json\n"
            "local _ = api.users.__rover_tmp\napi.users.get = f"))
        server = RoverServer(argv=["app.lua", "--port", "0"], cwd=d)
        self.addCleanup(server.stop)
        server.start()
        self.assertEqual(server.get("/users").body, b"x")
        self.assertEqual(server.get("/users/config").status, 404)

    def test_conflicting_routes(self):
        err = self.run_app(self.route_error("api.a.p_x.get = f\napi.a.p_y.get = f"))
        self.assertIn(err[0], ("❌ Error: Conflicting routes: GET /a/{x} and GET /a/{y}",
                               "❌ Error: Conflicting routes: GET /a/{y} and GET /a/{x}"))
        err = self.run_app(self.route_error("api.b.get = f\napi.b.GET = f"))
        self.assertEqual(err[0], "❌ Error: Conflicting routes: GET /b and GET /b")

    def test_port_in_use(self):
        s = socket.socket()
        self.addCleanup(s.close)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        d = write_temp_app(self, "local api = rover.server { host = '127.0.0.1', log_level = 'nope' }\n"
                                 "function api.get() return 'x' end\nreturn api\n")
        p = run_rover(["app.lua", "--port", str(port)], cwd=d)
        self.assertEqual(p.returncode, 1, p)
        self.assertEqual(lines(p.stderr)[:3], [
            "❌ Error: Unable to start server",
            "   Port %d is already in use on 127.0.0.1" % port,
            "   Please choose a different port or stop the process using port %d" % port,
        ])
        # log_level = "nope" does not silence startup failures, and writes nothing.
        self.assertEqual(p.stdout, b"")

    def test_other_bind_failure(self):
        # 192.0.2.1 (TEST-NET-1) is not a local address: bind() fails.
        err = self.run_app("local api = rover.server { host = '192.0.2.1', allow_public_bind = true,\n"
                           "  allow_insecure_http = true, log_level = 'info' }\n"
                           "function api.get() return 'x' end\nreturn api\n")
        self.assertRegex(err[0], r"^❌ Error starting server: \S.*$")

    def test_errors_not_silenced_by_nope(self):
        err = self.assertFirstLine(
            "local api = rover.server { log_level = 'nope', workers = 0 }\nreturn api\n",
            "❌ Error: workers must be an integer >= 1")
        self.assertTrue(err)


if __name__ == "__main__":
    unittest.main()
