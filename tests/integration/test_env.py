"""runtime-modules.md §1: the .env file, rover.env, rover.config.load and
rover.config.from_env. The binary runs with its working directory set to a
temporary directory holding a .env (fixtures in tests/apps/env/)."""

import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from harness import (APPS_DIR, BANNER_RE, LOG_LINE_RE, REPO_ROOT, RUN_TIMEOUT,
                     RoverServer, rover_bin)

ENV_DIR = APPS_DIR / "env"
APP = ENV_DIR / "app.lua"
SAMPLE_ENV = ENV_DIR / "sample.env"
OWN_PREFIXES = ("RVT_", "SHOP", "STORE", "FILECFG_", "NOEQUALSSIGN")
READ_ONLY_RE = r"^(.*:\d+: )?rover\.env is read-only$"

# What tests/apps/env/sample.env defines (well-formed lines only).
SAMPLE_VALUES = {
    "RVT_PLAIN": "hello",
    "RVT_SPACED": "some value",
    "RVT_EXPORTED": "yes",
    "RVT_EMPTY": "",
    "RVT_SQ": 'single $x \\n "q" # not a comment',
    "RVT_DQ": 'line1\nline2 "quoted" back\\slash # not a comment',
    "RVT_DQ_PADDED": "  padded  ",
    "RVT_DQ_EMPTY": "",
    "RVT_COMMENT": "value",
    "RVT_HASH": "abc#def",
    "RVT_EQ": "a=b=c",
    "RVT_URL": "postgres://user:p%40ss@db.local:5432/shop?sslmode=require",
    "RVT_AFTER": "after",
    "FILECFG_DB__NAME": "shop",
}
MALFORMED_LINES = 3  # NOEQUALSSIGN, =novalue, RVT_UNTERM="abc
NEVER_SET = ["RVT_COMMENTED", "RVT_UNTERM", "NOEQUALSSIGN", "RVT_SURELY_UNSET"]


def clean_env(extra=None):
    """os.environ without the variables these tests use, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    env.update(extra or {})
    return env


def make_tmp():
    return tempfile.mkdtemp(prefix="rover-it-env-")


def dotenv_above(d):
    """The first .env in ``d``'s parents (not ``d``), or None."""
    p = Path(d).resolve().parent
    for q in [p] + list(p.parents):
        if (q / ".env").exists():
            return q / ".env"
    return None


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


class EnvServer(RoverServer):
    """RoverServer whose child environment is exactly ``clean_env(env)``."""

    def start(self):
        saved = dict(os.environ)
        cleaned = clean_env()
        try:
            os.environ.clear()
            os.environ.update(cleaned)
            return super().start()
        finally:
            os.environ.clear()
            os.environ.update(saved)


def run(args, cwd, env=None):
    return subprocess.run([rover_bin()] + [str(a) for a in args], cwd=str(cwd),
                          env=clean_env(env), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=RUN_TIMEOUT)


def q(names):
    return ",".join(names)


class DotenvTest(unittest.TestCase):
    """cwd = a temporary directory with .env = sample.env; app by absolute path."""

    maxDiff = None
    ENV = {
        "RVT_KEEP": "from-environment",
        "RVT_KEEP_EMPTY": "",
        "RVT_SETTINGS_PORT": "8125",
        "SHOP_DB__HOST": "db1",
        "SHOP_LOG_LEVEL": "info",
        "STORE_DB__HOST": "db2",
        "STORE_DB__PORT": "5432",
        "STORE_A__B__C": "deep",
        "STORE_Mixed_Case": "v",
        "STOREFRONT_THEME": "dark",
        "STORE": "bare",
    }

    @classmethod
    def setUpClass(cls):
        cls.dir = make_tmp()
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        shutil.copy(SAMPLE_ENV, os.path.join(cls.dir, ".env"))
        # A decoy: config.load must not resolve against the working directory.
        write(os.path.join(cls.dir, "conf", "settings.lua"), "return { name = 'decoy' }\n")
        cls.server = EnvServer(APP, cwd=cls.dir, env=cls.ENV)
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def json(self, target):
        r = self.server.get(target)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_values_loaded(self):
        got = self.json("/env?names=" + q(list(SAMPLE_VALUES) + NEVER_SET))
        self.assertEqual(got, SAMPLE_VALUES)

    def test_values_in_process_environment(self):
        got = self.json("/getenv?names=" + q(list(SAMPLE_VALUES) + NEVER_SET))
        self.assertEqual(got, SAMPLE_VALUES)

    def test_environment_not_overridden(self):
        got = self.json("/env?names=RVT_KEEP,RVT_KEEP_EMPTY")
        self.assertEqual(got, {"RVT_KEEP": "from-environment", "RVT_KEEP_EMPTY": ""})
        got = self.json("/getenv?names=RVT_KEEP,RVT_KEEP_EMPTY")
        self.assertEqual(got, {"RVT_KEEP": "from-environment", "RVT_KEEP_EMPTY": ""})

    def test_malformed_lines_warned_and_skipped(self):
        # .env is read before the app is loaded: its WARN lines precede the banner.
        before = self.server.stdout.lines()[:self.server.banner_index]
        warns = [l for l in before if LOG_LINE_RE.match(l)
                 and LOG_LINE_RE.match(l).group(2) == "WARN"]
        self.assertEqual(len(warns), MALFORMED_LINES, self.server.stdout.text())
        self.assertEqual(len(set(LOG_LINE_RE.match(l).group(3) for l in warns)),
                         MALFORMED_LINES, warns)
        # The lines after a malformed one still load.
        self.assertEqual(self.json("/env?names=RVT_AFTER,RVT_UNTERM,NOEQUALSSIGN"),
                         {"RVT_AFTER": "after"})

    def test_access_forms(self):
        self.assertEqual(self.json("/access"), {
            "dot": "hello",
            "bracket": "hello",
            "dot_type": "string",
            "unset_dot_is_nil": True,
            "unset_bracket_is_nil": True,
            "path_matches_getenv": True,
        })

    def test_assignment_raises(self):
        cases = [("RVT_PLAIN", "other", "hello"),
                 ("RVT_NEW_VAR", "x", None),
                 ("RVT_PLAIN", "nil", "hello"),
                 ("RVT_NEW_VAR", "nil", None)]
        for name, value, after in cases:
            with self.subTest(name=name, value=value):
                got = self.json("/assign?name=%s&value=%s" % (name, value))
                self.assertIs(got["ok"], False, got)
                self.assertRegex(got["err"], READ_ONLY_RE)
                self.assertEqual(got.get("after"), after, got)
                self.assertEqual(got.get("getenv_after"), after, got)

    def test_config_load_relative_to_app_dir(self):
        self.assertEqual(self.json("/conf/settings"), {
            "ok": True,
            "value": {"name": "settings", "port": 8125,
                      "nested": {"level": "deep", "list": ["a", "b"]}},
            "value_type": "table",
        })

    def test_config_load_returns_value(self):
        self.assertEqual(self.json("/conf/answer"),
                         {"ok": True, "value": 42, "value_type": "number"})

    def test_config_load_errors_propagate(self):
        got = self.json("/conf/broken")
        self.assertIs(got["ok"], False, got)
        self.assertEqual(got["err_type"], "string", got)
        self.assertRegex(got["err"], r"(^|: )settings are broken$")
        for name in ("syntax", "missing_file"):
            with self.subTest(name=name):
                got = self.json("/conf/" + name)
                self.assertIs(got["ok"], False, got)
                self.assertIn(name + ".lua", got["err"])

    def test_from_env_spec_example(self):
        self.assertEqual(self.json("/from_env?prefix=SHOP"),
                         {"value": {"db": {"host": "db1"}, "log_level": "info"}})

    def test_from_env_nesting_case_and_prefix_boundary(self):
        self.assertEqual(self.json("/from_env?prefix=STORE"), {"value": {
            "db": {"host": "db2", "port": "5432"},  # values stay strings
            "a": {"b": {"c": "deep"}},
            "mixed_case": "v",
        }})

    def test_from_env_sees_dotenv_values(self):
        self.assertEqual(self.json("/from_env?prefix=FILECFG"),
                         {"value": {"db": {"name": "shop"}}})

    def test_from_env_no_match(self):
        self.assertEqual(self.json("/from_env?prefix=RVT_NOTHING_HERE"), {"value": {}})


class DotenvLocationTest(unittest.TestCase):
    """Which .env is read: the working directory's or the nearest parent's."""

    maxDiff = None

    def setUp(self):
        self.dir = make_tmp()
        self.addCleanup(shutil.rmtree, self.dir, True)
        if dotenv_above(self.dir):
            self.skipTest("a .env above the temporary directory: %s" % dotenv_above(self.dir))

    def env_of(self, cwd, names, app=APP, extra=None):
        server = EnvServer(app, cwd=cwd, env=extra)
        self.addCleanup(server.stop)
        server.start()
        r = server.get("/env?names=" + q(names))
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_parent_dotenv_found_from_child_cwd(self):
        shutil.copy(SAMPLE_ENV, os.path.join(self.dir, ".env"))
        child = os.path.join(self.dir, "a", "b")
        os.makedirs(child)
        self.assertEqual(self.env_of(child, list(SAMPLE_VALUES)), SAMPLE_VALUES)

    def test_nearest_dotenv_wins_and_only_it_is_read(self):
        shutil.copy(SAMPLE_ENV, os.path.join(self.dir, ".env"))
        write(os.path.join(self.dir, "a", ".env"), "RVT_PLAIN=from-child\nRVT_CHILD=1\n")
        child = os.path.join(self.dir, "a", "b")
        os.makedirs(child)
        self.assertEqual(self.env_of(child, ["RVT_PLAIN", "RVT_CHILD", "RVT_EXPORTED"]),
                         {"RVT_PLAIN": "from-child", "RVT_CHILD": "1"})

    def test_app_directory_dotenv_not_read(self):
        # The app lives in <tmp>/srv next to its own .env; cwd is <tmp>/run.
        srv = os.path.join(self.dir, "srv")
        shutil.copytree(ENV_DIR, srv)
        write(os.path.join(srv, ".env"), "RVT_APPDIR=1\n")
        run_dir = os.path.join(self.dir, "run")
        os.makedirs(run_dir)
        self.assertEqual(self.env_of(run_dir, ["RVT_APPDIR", "RVT_PLAIN"],
                                     app=os.path.join(srv, "app.lua")), {})

    def test_app_in_subdirectory_relative_path(self):
        # cwd holds the .env; the app is given as a relative path below it.
        shutil.copy(SAMPLE_ENV, os.path.join(self.dir, ".env"))
        shutil.copytree(ENV_DIR, os.path.join(self.dir, "srv"))
        server = EnvServer("srv/app.lua", cwd=self.dir)
        self.addCleanup(server.stop)
        server.start()
        r = server.get("/env?names=RVT_PLAIN,RVT_DQ")
        self.assertEqual(r.json(), {"RVT_PLAIN": "hello", "RVT_DQ": SAMPLE_VALUES["RVT_DQ"]})
        r = server.get("/conf/settings")
        self.assertEqual(r.json()["value"]["name"], "settings")

    def test_warn_written_whatever_log_level(self):
        shutil.copy(SAMPLE_ENV, os.path.join(self.dir, ".env"))
        for level in ("error", "nope"):
            with self.subTest(level=level):
                server = EnvServer(APP, cwd=self.dir, env={"RVT_LOG_LEVEL": level},
                                   ready_line=r"^READY$")
                self.addCleanup(server.stop)
                server.start()
                before = server.stdout.lines()[:server.banner_index]
                warns = [l for l in before if LOG_LINE_RE.match(l)
                         and LOG_LINE_RE.match(l).group(2) == "WARN"]
                self.assertEqual(len(warns), MALFORMED_LINES, server.stdout.text())
                self.assertFalse([l for l in server.stdout.lines() if BANNER_RE.match(l)])
                r = server.get("/env?names=RVT_PLAIN")
                self.assertEqual(r.json(), {"RVT_PLAIN": "hello"})
                server.stop()

    def test_no_warn_for_wellformed_file(self):
        write(os.path.join(self.dir, ".env"), "# only good lines\nRVT_PLAIN=ok\n\nexport RVT_X='y'\n")
        server = EnvServer(APP, cwd=self.dir)
        self.addCleanup(server.stop)
        server.start()
        before = server.stdout.lines()[:server.banner_index]
        self.assertEqual([l for l in before if " WARN " in l], [], server.stdout.text())
        r = server.get("/env?names=RVT_PLAIN,RVT_X")
        self.assertEqual(r.json(), {"RVT_PLAIN": "ok", "RVT_X": "y"})


class EnvScriptTest(unittest.TestCase):
    """Script-mode apps (they print and exit)."""

    def setUp(self):
        self.dir = make_tmp()
        self.addCleanup(shutil.rmtree, self.dir, True)
        shutil.copy(SAMPLE_ENV, os.path.join(self.dir, ".env"))
        write(os.path.join(self.dir, "conf", "settings.lua"), "return { name = 'decoy' }\n")

    def test_script_reads_env_and_config(self):
        p = run([ENV_DIR / "script.lua"], cwd=self.dir, env={"RVT_KEEP": "from-environment"})
        self.assertEqual(p.returncode, 0, p)
        out = p.stdout.decode().splitlines()
        self.assertEqual([l for l in out if not LOG_LINE_RE.match(l)], [
            "RVT_PLAIN=hello",
            "RVT_EXPORTED=yes",
            "RVT_KEEP=from-environment",
            "RVT_SURELY_UNSET=<nil>",
            "settings=settings",
        ])
        self.assertEqual(len([l for l in out if LOG_LINE_RE.match(l)
                              and LOG_LINE_RE.match(l).group(2) == "WARN"]),
                         MALFORMED_LINES, out)

    def test_script_from_repo_root_relative_path(self):
        # Another cwd (the repo root, no .env applies there unless one exists).
        p = run(["tests/apps/env/script.lua"], cwd=REPO_ROOT)
        self.assertEqual(p.returncode, 0, p)
        self.assertIn("settings=settings", p.stdout.decode().splitlines())

    def test_uncaught_assignment_exits_1(self):
        p = run([ENV_DIR / "script_assign.lua"], cwd=self.dir)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("before the assignment", p.stdout.decode().splitlines())
        self.assertNotIn("not reached", p.stdout.decode())
        err = p.stderr.decode().splitlines()
        self.assertEqual(err[0], "❌ Error loading %s:" % (ENV_DIR / "script_assign.lua"))
        self.assertRegex(err[1], READ_ONLY_RE)

    def test_uncaught_config_error_exits_1(self):
        p = run([ENV_DIR / "script_config_error.lua"], cwd=self.dir)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("before the load", p.stdout.decode().splitlines())
        self.assertNotIn("not reached", p.stdout.decode())
        err = p.stderr.decode().splitlines()
        self.assertEqual(err[0], "❌ Error loading %s:" % (ENV_DIR / "script_config_error.lua"))
        self.assertRegex(err[1], r"(^|: )settings are broken$")


if __name__ == "__main__":
    unittest.main()
