"""runtime-modules.md §7 (the WebSocket server) against the real binary: the
handshake and its refusals, join, message dispatch, every send form, topics
and broadcasts across two workers, the protocol (pings, fragments, 1002,
1007, 1009, the close handshake, server pings and silent peers, 1001 at
drain), and a slow receiver closed with 1008 while a broadcast reaches 500
others. Clients: wsclient.py (raw sockets: exact frames, protocol errors) and
the npm `ws` package (tests/tools/ws_client.js, an independent implementation).

App: tests/apps/ws.lua (two workers).
"""

import base64
import json
import os
import resource
import signal
import socket
import subprocess
import time
import unittest

from harness import (IO_TIMEOUT, TOOLS_DIR, RoverServer, RoverTestCase, build_request,
                     npm_tools_problem)
from wsclient import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT,
                      HandshakeRefused, WsClient, accept_for, read_http_response)

APP = "tests/apps/ws.lua"


class WsTestCase(RoverTestCase):
    APP = APP

    def ws(self, path, **kw):
        c = WsClient(self.server.host, self.server.port, path, **kw)
        self.addCleanup(c.close)
        return c

    def refused(self, path, **kw):
        with self.assertRaises(HandshakeRefused) as cm:
            self.ws(path, **kw)
        return cm.exception

    def raw_handshake(self, lines):
        """Status, headers and body of the answer to a hand-written request."""
        s = socket.create_connection((self.server.host, self.server.port), timeout=IO_TIMEOUT)
        self.addCleanup(s.close)
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status, headers, body, _ = read_http_response(s)
        return status, headers, body

    def on_both_workers(self, path, first_message_worker=True, attempts=60):
        """Two connections to `path` served by different workers (the
        welcome message names the worker)."""
        seen = {}
        for _ in range(attempts):
            c = self.ws(path)
            w = c.recv_json()["worker"]
            if w not in seen:
                seen[w] = c
            if len(seen) == 2:
                return seen[1], seen[2]
        self.fail("no connection reached worker 2 in %d attempts" % attempts)


KEY = base64.b64encode(b"0123456789abcdef").decode()


def upgrade_lines(path="/echo", version="13", key=KEY, extra=(), http="HTTP/1.1",
                  connection="Upgrade"):
    lines = ["GET %s %s" % (path, http), "Host: x", "Upgrade: websocket"]
    if connection:
        lines.append("Connection: " + connection)
    if key is not None:
        lines.append("Sec-WebSocket-Key: " + key)
    if version is not None:
        lines.append("Sec-WebSocket-Version: " + version)
    return lines + list(extra)


class HandshakeTest(WsTestCase):
    def test_101_with_the_accept_key(self):
        status, headers, body = self.raw_handshake(upgrade_lines())
        self.assertEqual(status, 101)
        self.assertEqual(headers["sec-websocket-accept"], accept_for(KEY))
        self.assertEqual(headers["upgrade"].lower(), "websocket")
        self.assertEqual(headers["connection"].lower(), "upgrade")

    def test_rfc_example_key(self):
        # RFC 6455 §1.3: dGhlIHNhbXBsZSBub25jZQ== -> s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
        c = self.ws("/echo", key="dGhlIHNhbXBsZSBub25jZQ==")
        self.assertEqual(c.headers["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")

    def test_malformed_handshakes_get_400(self):
        for lines in (upgrade_lines(key=None), upgrade_lines(key="short"),
                      upgrade_lines(version=None), upgrade_lines(connection="keep-alive"),
                      upgrade_lines(http="HTTP/1.0")):
            status, headers, body = self.raw_handshake(lines)
            self.assertEqual(status, 400, lines)
            self.assertIn("error", json.loads(body))

    def test_other_version_gets_426_naming_13(self):
        status, headers, _ = self.raw_handshake(upgrade_lines(version="8"))
        self.assertEqual(status, 426)
        self.assertEqual(headers["sec-websocket-version"], "13")

    def test_plain_get_to_a_websocket_only_path_gets_426(self):
        r = self.get("/echo")
        self.assertStatus(r, 426)
        self.assertEqual(r.header("Upgrade"), "websocket")
        r = self.get("/rooms/lobby")
        self.assertStatus(r, 426)

    def test_upgrade_to_a_path_without_endpoint_is_routed_normally(self):
        status, _, _ = self.raw_handshake(upgrade_lines(path="/nowhere"))
        self.assertEqual(status, 404)

    def test_node_with_get_and_ws(self):
        r = self.get("/both")
        self.assertStatus(r, 200)
        self.assertEqual(r.json(), {"http": True})
        c = self.ws("/both")
        self.assertEqual(c.recv_json(), {"type": "hi"})

    def test_before_hook_refuses_or_lets_through(self):
        e = self.refused("/private")
        self.assertEqual(e.status, 401)
        self.assertEqual(json.loads(e.body), {"error": "no token"})
        c = self.ws("/private", headers={"X-Token": "ok"})
        self.assertEqual(c.recv_json(), {"type": "hello", "who": "ok"})

    def test_ws_error_in_join_refuses_with_its_code(self):
        e = self.refused("/rooms/closed")
        self.assertEqual(e.status, 403)
        self.assertEqual(e.headers["content-type"], "application/json")
        self.assertEqual(json.loads(e.body), {"error": "room is closed"})

    def test_join_that_raises_is_a_500(self):
        e = self.refused("/rooms/boom")
        self.assertEqual(e.status, 500)
        self.assertIn("join failed", json.loads(e.body)["error"])

    def test_join_that_waits(self):
        c = self.ws("/rooms/slow")
        self.assertEqual(c.recv_json(), {"type": "welcome", "room": "slow"})

    def test_frames_sent_with_the_handshake_are_read(self):
        s = socket.create_connection((self.server.host, self.server.port), timeout=IO_TIMEOUT)
        self.addCleanup(s.close)
        frame = WsClient.frame(OP_TEXT, json.dumps({"type": "echo", "text": "early"}).encode())
        s.sendall(("\r\n".join(upgrade_lines()) + "\r\n\r\n").encode() + frame)
        status, _, _, rest = read_http_response(s)
        self.assertEqual(status, 101)
        c = WsClient.__new__(WsClient)
        c.sock, c.buf, c.controls = s, rest, []
        self.assertEqual(c.recv_json()["type"], "welcome")
        self.assertEqual(c.recv_json(), {"type": "echo", "text": "early", "count": 1})


class DispatchTest(WsTestCase):
    def setUp(self):
        self.c = self.ws("/echo")
        self.welcome = self.c.recv_json()

    def test_welcome_from_join_with_the_request_id(self):
        self.assertEqual(self.welcome["type"], "welcome")
        self.assertIn(self.welcome["worker"], (1, 2))
        self.assertTrue(self.welcome["id"])

    def test_typed_handler_and_state_replaced_by_its_return(self):
        for n in (1, 2, 3):
            self.c.send_json({"type": "echo", "text": "t%d" % n})
            self.assertEqual(self.c.recv_json(), {"type": "echo", "text": "t%d" % n, "count": n})

    def test_fallbacks_to_message(self):
        c = self.c
        c.send_text("not json")
        self.assertEqual(c.recv_json(), {"type": "text", "text": "not json", "size": 8})
        c.send_text("[1, 2]")  # JSON, not an object
        self.assertEqual(c.recv_json(), {"type": "text", "text": "[1, 2]", "size": 6})
        c.send_json({"type": "nosuch", "a": 1})  # no handler for the type: the decoded object
        self.assertEqual(c.recv_json(), {"type": "object", "got": {"type": "nosuch", "a": 1}})
        c.send_json({"a": 2})  # no type
        self.assertEqual(c.recv_json(), {"type": "object", "got": {"a": 2}})
        c.send_binary(b"\x00\x01\x02")
        self.assertEqual(c.recv_json(), {"type": "binary", "size": 3})

    def test_handler_context(self):
        self.c.send_json({"type": "whoami"})
        m = self.c.recv_json()
        self.assertEqual(m["request_id"], self.welcome["id"])
        self.assertEqual(m["ip"], "127.0.0.1")
        self.assertEqual(m["worker"], self.welcome["worker"])

    def test_handler_error_is_logged_and_the_connection_stays(self):
        start = len(self.server.stdout.lines())
        self.c.send_json({"type": "fail"})
        self.c.send_json({"type": "echo", "text": "still here"})
        self.assertEqual(self.c.recv_json()["text"], "still here")
        self.assertTrue(self.server.wait_log(
            r"ERROR WebSocket /echo - ws\.listen\.fail failed: .*handler failed on purpose",
            start=start))

    def test_misuse_is_logged(self):
        start = len(self.server.stdout.lines())
        self.c.send_json({"type": "bad_send"})
        self.c.send_json({"type": "bad_error"})
        self.c.send_json({"type": "echo", "text": "ok"})
        self.assertEqual(self.c.recv_json()["text"], "ok")
        self.assertTrue(self.server.wait_log(r"ws\.send\.bad: payload must be a table",
                                             start=start))
        self.assertTrue(self.server.wait_log(r"ws\.error is only valid in ws\.join", start=start))

    def test_a_waiting_handler_holds_the_next_message_back(self):
        self.c.send_json({"type": "slow", "text": "first", "ms": 100})
        self.c.send_json({"type": "echo", "text": "second"})
        self.assertEqual(self.c.recv_json(), {"type": "slow", "text": "first"})
        self.assertEqual(self.c.recv_json()["text"], "second")


class SendFormsTest(WsTestCase):
    def test_all_reaches_every_connection_of_the_endpoint_on_both_workers(self):
        a, b = self.on_both_workers("/echo")
        room = self.ws("/rooms/x")  # another endpoint: not reached
        room.recv_json()
        a.send_json({"type": "all", "text": "to all"})
        self.assertEqual(a.recv_json(), {"type": "all", "text": "to all"})
        self.assertEqual(b.recv_json(), {"type": "all", "text": "to all"})
        room.send_json({"type": "say", "text": "marker"})
        self.assertEqual(room.recv_json()["text"], "marker")  # nothing came before it

    def test_except_leaves_the_sender_out(self):
        a, b = self.on_both_workers("/echo")
        a.send_json({"type": "except", "text": "not me"})
        self.assertEqual(b.recv_json(), {"type": "except", "text": "not me"})
        a.send_json({"type": "echo", "text": "marker"})
        self.assertEqual(a.recv_json()["type"], "echo")  # the except message never came

    def test_topics_across_workers(self):
        a, b = self.on_both_workers("/echo")
        b.send_json({"type": "sub", "topic": "t1"})
        self.assertEqual(b.recv_json()["type"], "subscribed")
        a.send_json({"type": "topic", "topic": "t1", "text": "hello t1"})
        self.assertEqual(b.recv_json(), {"type": "topic", "text": "hello t1"})
        a.send_json({"type": "echo", "text": "marker"})
        self.assertEqual(a.recv_json()["type"], "echo")  # a is not subscribed

    def test_rooms_and_leave(self):
        a = self.ws("/rooms/r1?nick=ann")
        self.assertEqual(a.recv_json(), {"type": "welcome", "room": "r1"})
        b = self.ws("/rooms/r1?nick=bob")
        b.recv_json()
        other = self.ws("/rooms/r2?nick=eve")
        other.recv_json()
        a.send_json({"type": "say", "text": "hi"})
        self.assertEqual(a.recv_json(), {"type": "said", "nick": "ann", "text": "hi"})
        self.assertEqual(b.recv_json(), {"type": "said", "nick": "ann", "text": "hi"})
        b.send_close(1000)
        self.assertEqual(b.recv_close(), (1000, b""))
        self.assertEqual(a.recv_json(), {"type": "left", "nick": "bob"})
        other.send_json({"type": "say", "text": "r2 only"})
        self.assertEqual(other.recv_json()["text"], "r2 only")

    def test_leave_runs_when_the_client_just_goes_away(self):
        a = self.ws("/rooms/r3?nick=ann")
        a.recv_json()
        b = self.ws("/rooms/r3?nick=bob")
        b.recv_json()
        b.close()
        self.assertEqual(a.recv_json(), {"type": "left", "nick": "bob"})

    def test_broadcast_from_an_http_handler(self):
        a, b = self.on_both_workers("/echo")
        r = self.request("POST", "/notify", headers={"Content-Type": "application/json"},
                         body=json.dumps({"text": "news"}).encode())
        self.assertStatus(r, 200)
        self.assertEqual(a.recv_json(), {"type": "news", "text": "news"})
        self.assertEqual(b.recv_json(), {"type": "news", "text": "news"})


class ProtocolTest(WsTestCase):
    def setUp(self):
        self.c = self.ws("/echo")
        self.c.recv_json()

    def test_ping_answered_with_its_payload(self):
        self.c.send_frame(OP_PING, b"are you there")
        self.c.send_json({"type": "echo", "text": "x"})
        self.c.recv_json()
        self.assertEqual(self.c.controls, [(OP_PONG, b"are you there")])

    def test_fragments_reassembled_with_a_ping_between(self):
        text = json.dumps({"type": "echo", "text": "fragmented é"}).encode()
        c = self.c
        c.send_frame(OP_TEXT, text[:5], fin=False)
        c.send_frame(OP_PING, b"mid")
        c.send_frame(OP_CONT, text[5:12], fin=False)
        c.send_frame(OP_CONT, text[12:], fin=True)
        self.assertEqual(c.recv_json()["text"], "fragmented é")
        self.assertEqual(c.controls, [(OP_PONG, b"mid")])

    def test_message_over_1_mib_closes_1009(self):
        self.c.send_frame(OP_BINARY, b"x" * (1024 * 1024 + 1))
        self.assertEqual(self.c.recv_close()[0], 1009)
        self.assertTrue(self.c.wait_eof())

    def test_1_mib_message_is_accepted(self):
        self.c.send_frame(OP_BINARY, b"x" * (1024 * 1024))
        self.assertEqual(self.c.recv_json(), {"type": "binary", "size": 1024 * 1024})

    def test_fragmented_message_over_1_mib_closes_1009(self):
        self.c.send_frame(OP_BINARY, b"x" * (600 * 1024), fin=False)
        self.c.send_frame(OP_CONT, b"x" * (600 * 1024), fin=True)
        self.assertEqual(self.c.recv_close()[0], 1009)

    def test_invalid_utf8_closes_1007(self):
        self.c.send_frame(OP_TEXT, b'{"type":"echo","text":"\xff"}')
        self.assertEqual(self.c.recv_close()[0], 1007)
        self.assertTrue(self.c.wait_eof())

    def test_unmasked_frame_closes_1002(self):
        self.c.send_frame(OP_TEXT, b"hi", mask=False)
        self.assertEqual(self.c.recv_close()[0], 1002)

    def test_close_handshake_echoes_the_code(self):
        self.c.send_close(4000, b"bye")
        self.assertEqual(self.c.recv_close(), (4000, b""))
        self.assertTrue(self.c.wait_eof())

    def test_close_without_code(self):
        self.c.send_close(None)
        self.assertEqual(self.c.recv_close(), (None, b""))

    def test_client_gone_while_a_handler_waits(self):
        self.c.send_json({"type": "slow", "text": "never sent", "ms": 100})
        self.c.close()
        d = self.ws("/echo")  # the worker goes on serving
        d.recv_json()
        d.send_json({"type": "slow", "text": "after", "ms": 150})
        self.assertEqual(d.recv_json(), {"type": "slow", "text": "after"})


class ServerPingTest(unittest.TestCase):
    """Server pings (timeouts.ws_ping) and silent peers (timeouts.ws_idle),
    with short intervals."""

    @classmethod
    def setUpClass(cls):
        cls.server = RoverServer(APP, env={"WS_PING": "0.2", "WS_IDLE": "2", "WS_WORKERS": "1"})
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def client(self):
        c = WsClient(self.server.host, self.server.port, "/echo")
        self.addCleanup(c.close)
        c.recv_json()
        return c

    def test_server_pings_and_a_peer_that_answers_stays(self):
        c = self.client()
        pings = 0
        while pings < 15:  # 15 pings of 0.2 s: well past ws_idle
            op, _, payload = c.recv_frame()
            self.assertEqual(op, OP_PING)
            c.send_frame(OP_PONG, payload)
            pings += 1
        c.send_json({"type": "echo", "text": "alive"})
        self.assertEqual(c.recv_json()["text"], "alive")

    def test_a_silent_peer_is_closed(self):
        c = self.client()
        op, payload = c.recv_message(answer_pings=False)
        self.assertEqual(op, OP_CLOSE)
        self.assertEqual(int.from_bytes(payload[:2], "big"), 1001)
        self.assertGreater(len([1 for op, _ in c.controls if op == OP_PING]), 0)
        self.assertTrue(c.wait_eof())


class DrainTest(unittest.TestCase):
    def test_sigterm_sends_1001_and_waits_for_the_peers_close(self):
        server = RoverServer(APP, env={"WS_WORKERS": "2"})
        server.start()
        self.addCleanup(server.stop)
        clients = []
        for _ in range(4):
            c = WsClient(server.host, server.port, "/echo")
            self.addCleanup(c.close)
            c.recv_json()
            clients.append(c)
        server.proc.send_signal(signal.SIGTERM)
        for c in clients:
            self.assertEqual(c.recv_close()[0], 1001)
        self.assertIsNone(server.proc.poll())  # waits for the peers' close frames
        for c in clients:
            c.send_close(1001)
            self.assertTrue(c.wait_eof())
        self.assertEqual(server.proc.wait(10), 0)


    def test_a_join_that_ends_during_the_drain_is_told_1001(self):
        server = RoverServer(APP, env={"WS_WORKERS": "1"})
        server.start()
        self.addCleanup(server.stop)
        s = socket.create_connection((server.host, server.port), timeout=IO_TIMEOUT)
        self.addCleanup(s.close)
        start = len(server.stdout.lines())
        s.sendall(("\r\n".join(upgrade_lines(path="/rooms/slower")) + "\r\n\r\n").encode())
        self.assertTrue(server.wait_log(r"DEBUG \[\w+\] query: ", start=start))  # join waits
        server.proc.send_signal(signal.SIGTERM)
        status, _, _, rest = read_http_response(s)
        self.assertEqual(status, 101)
        c = WsClient.__new__(WsClient)
        c.sock, c.buf, c.controls = s, rest, []
        self.assertEqual(c.recv_close()[0], 1001)
        c.send_close(1001)
        self.assertTrue(c.wait_eof())
        self.assertEqual(server.proc.wait(10), 0)


class SlowReceiverTest(unittest.TestCase):
    """A receiver that reads nothing is closed with 1008 once its queue
    passes the bound, while a broadcast reaches 500 other clients."""

    CROWD = 500

    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, 4096)
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        cls.server = RoverServer(APP, env={"WS_WORKERS": "2"})
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def test_slow_receiver_closed_1008_others_served(self):
        host, port = self.server.host, self.server.port
        crowd = []
        for _ in range(self.CROWD):
            c = WsClient(host, port, "/echo")
            self.addCleanup(c.close)
            c.recv_json()
            c.send_json({"type": "sub", "topic": "crowd"})
            crowd.append(c)
        for c in crowd:
            self.assertEqual(c.recv_json()["type"], "subscribed")
        slow = WsClient(host, port, "/echo", rcvbuf=4096)
        self.addCleanup(slow.close)
        slow.recv_json()
        slow.send_json({"type": "sub", "topic": "slow"})
        self.assertEqual(slow.recv_json()["type"], "subscribed")
        flooder = WsClient(host, port, "/echo")
        self.addCleanup(flooder.close)
        flooder.recv_json()
        count = 256  # 16 MiB of 64 KiB messages: past the 4 MiB queue and the kernel's buffers
        flooder.send_json({"type": "flood", "topic": "slow", "count": count, "size": 65536})
        self.assertEqual(flooder.recv_json(), {"type": "flooded", "count": count})
        # The slow receiver still reads nothing; the crowd gets its broadcast.
        flooder.send_json({"type": "topic", "topic": "crowd", "text": "to the crowd"})
        for c in crowd:
            self.assertEqual(c.recv_json(), {"type": "topic", "text": "to the crowd"})
        # Now it reads: some of the flood, then close 1008, then the end.
        got = 0
        slow.sock.settimeout(30)
        while True:
            op, payload = slow.recv_message()
            if op == OP_CLOSE:
                self.assertEqual(int.from_bytes(payload[:2], "big"), 1008)
                break
            self.assertEqual(op, OP_TEXT)
            got += 1
        self.assertLess(got, count)
        self.assertTrue(slow.wait_eof())


class NodeClientTest(WsTestCase):
    """The npm `ws` package as the client: handshake and every send form."""

    def node(self, path, *headers):
        problem = npm_tools_problem()
        if problem:
            self.skipTest(problem)
        url = "ws://%s:%d%s" % (self.server.host, self.server.port, path)
        p = subprocess.Popen(["node", str(TOOLS_DIR / "ws_client.js"), url] + list(headers),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.addCleanup(p.wait, 10)
        self.addCleanup(p.stdout.close)
        self.addCleanup(p.stdin.close)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        return p

    def cmd(self, p, obj):
        p.stdin.write(json.dumps(obj) + "\n")
        p.stdin.flush()

    def event(self, p):
        line = p.stdout.readline()
        self.assertTrue(line, "the node client ended")
        return json.loads(line)

    def test_echo_topics_and_close(self):
        p = self.node("/rooms/node?nick=nd")
        self.assertIn("sec-websocket-accept", self.event(p)["open"])
        self.assertEqual(self.event(p), {"message": {"type": "welcome", "room": "node"}})
        raw = self.ws("/rooms/node?nick=raw")
        raw.recv_json()
        self.cmd(p, {"send": {"type": "say", "text": "from node"}})
        self.assertEqual(self.event(p), {"message": {"type": "said", "nick": "nd",
                                                     "text": "from node"}})
        self.assertEqual(raw.recv_json(), {"type": "said", "nick": "nd", "text": "from node"})
        raw.send_json({"type": "say", "text": "from raw"})
        self.assertEqual(self.event(p)["message"]["text"], "from raw")
        self.assertEqual(raw.recv_json()["text"], "from raw")  # the sender is in its room too
        self.cmd(p, {"ping": "pp"})
        self.assertEqual(self.event(p), {"pong": "pp"})
        self.cmd(p, {"close": 1000})
        self.assertEqual(self.event(p), {"close": 1000, "reason": ""})
        self.assertEqual(raw.recv_json(), {"type": "left", "nick": "nd"})

    def test_all_except_and_refusal(self):
        p = self.node("/echo")
        self.event(p)
        self.assertEqual(self.event(p)["message"]["type"], "welcome")
        raw = self.ws("/echo")
        raw.recv_json()
        self.cmd(p, {"send": {"type": "except", "text": "e"}})
        self.cmd(p, {"send": {"type": "all", "text": "a"}})
        self.assertEqual(raw.recv_json(), {"type": "except", "text": "e"})
        self.assertEqual(raw.recv_json(), {"type": "all", "text": "a"})
        self.assertEqual(self.event(p), {"message": {"type": "all", "text": "a"}})
        self.cmd(p, {"binary": "00ff"})
        self.assertEqual(self.event(p), {"message": {"type": "binary", "size": 2}})
        q = self.node("/rooms/closed")
        self.assertEqual(self.event(q), {"refused": 403, "body": '{"error":"room is closed"}'})


if __name__ == "__main__":
    unittest.main()
