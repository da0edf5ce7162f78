"""A WebSocket client over a raw socket (RFC 6455, Python standard library
only), for the integration tests: it can send what a well-behaved client
sends — masked frames, fragments, pings, the close handshake — and what a
broken one sends (unmasked frames, bad UTF-8, oversized messages), and reads
frames exactly as they arrive.
"""

import base64
import hashlib
import json
import os
import socket
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class HandshakeRefused(AssertionError):
    def __init__(self, status, headers, body):
        super().__init__("handshake answered %d: %r" % (status, body[:200]))
        self.status = status
        self.headers = headers  # dict, lower-case names
        self.body = body


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def read_http_response(sock, buf=b""):
    """(status, headers dict, body, rest of the bytes) of one HTTP response."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response head: %r" % buf)
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    body = b""
    if status != 101:
        n = int(headers.get("content-length", "0"))
        while len(rest) < n:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        body, rest = rest[:n], rest[n:]
    return status, headers, body, rest


class WsClient:
    def __init__(self, host, port, path, headers=None, timeout=10.0, rcvbuf=None,
                 key=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.key = key or base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (host, port),
                 "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Key: " + self.key, "Sec-WebSocket-Version: 13"]
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status, hdrs, body, rest = read_http_response(self.sock)
        if status != 101:
            self.sock.close()
            raise HandshakeRefused(status, hdrs, body)
        self.headers = hdrs
        self.buf = rest
        self.controls = []  # pings and pongs received, in order

    # -- sending -------------------------------------------------------------

    @staticmethod
    def frame(opcode, payload, fin=True, mask=True, rsv=0):
        b0 = (0x80 if fin else 0) | rsv | opcode
        n = len(payload)
        mbit = 0x80 if mask else 0
        if n < 126:
            head = struct.pack("!BB", b0, mbit | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, mbit | 126, n)
        else:
            head = struct.pack("!BBQ", b0, mbit | 127, n)
        if not mask:
            return head + payload
        key = os.urandom(4)
        masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if n < 4096 else \
            _mask_fast(payload, key)
        return head + key + masked

    def send_frame(self, opcode, payload, **kw):
        if isinstance(payload, str):
            payload = payload.encode()
        self.sock.sendall(self.frame(opcode, payload, **kw))

    def send_text(self, text):
        self.send_frame(OP_TEXT, text)

    def send_json(self, obj):
        self.send_text(json.dumps(obj))

    def send_binary(self, data):
        self.send_frame(OP_BINARY, data)

    def send_close(self, code=1000, reason=b""):
        self.send_frame(OP_CLOSE, struct.pack("!H", code) + reason if code else b"")

    # -- receiving -----------------------------------------------------------

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk

    def recv_frame(self):
        """(opcode, fin, payload) of the next frame, exactly as sent."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        if b1 & 0x80:
            raise AssertionError("the server masked a frame")
        n = b1 & 0x7F
        at = 2
        if n == 126:
            self._need(4)
            n = struct.unpack("!H", self.buf[2:4])[0]
            at = 4
        elif n == 127:
            self._need(10)
            n = struct.unpack("!Q", self.buf[2:10])[0]
            at = 10
        self._need(at + n)
        payload = self.buf[at:at + n]
        self.buf = self.buf[at + n:]
        if b0 & 0x70:
            raise AssertionError("RSV bits set by the server")
        return b0 & 0x0F, bool(b0 & 0x80), payload

    def recv_message(self, answer_pings=True):
        """(opcode, payload) of the next data message or close frame; pings
        and pongs are recorded in self.controls (pings answered)."""
        while True:
            op, fin, payload = self.recv_frame()
            if op in (OP_PING, OP_PONG):
                self.controls.append((op, payload))
                if op == OP_PING and answer_pings:
                    self.send_frame(OP_PONG, payload)
                continue
            if op == OP_CLOSE:
                return op, payload
            if not fin:
                raise AssertionError("the server fragmented a message")
            return op, payload

    def recv_json(self):
        op, payload = self.recv_message()
        if op != OP_TEXT:
            raise AssertionError("expected a text message, got opcode %d: %r" % (op, payload))
        return json.loads(payload.decode("utf-8"))

    def recv_close(self, skip_data=True):
        """(code, reason) of the server's close frame (None, b'' if it had no payload)."""
        while True:
            op, payload = self.recv_message()
            if op == OP_CLOSE:
                if len(payload) >= 2:
                    return struct.unpack("!H", payload[:2])[0], payload[2:]
                return None, b""
            if not skip_data:
                raise AssertionError("expected a close frame, got opcode %d" % op)

    def wait_eof(self):
        """True once the server has closed the TCP connection."""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return True
            if not chunk:
                return True
            self.buf += chunk

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _mask_fast(payload, key):
    n = len(payload)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")
