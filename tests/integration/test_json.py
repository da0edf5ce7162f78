"""lua-api.md §9: JSON encoding of returned values and decoding of bodies,
end to end (the unit tests cover the encoder and decoder in depth)."""

import unittest

from harness import CT_JSON, RoverTestCase

SERIALIZE_PREFIX = b'{"error":"Failed to serialize response: '


def nested(depth):
    d = {}
    for _ in range(depth - 1):
        d = {"n": d}
    return d


class JsonEncodeTest(RoverTestCase):
    APP = "tests/apps/json.lua"

    def test_exact_encodings(self):
        cases = {
            "integers": b"[42,-7,0,1099511627776,0,1,5,-9007199254740992]",
            "floats": b"[3.14,0.001,2.5,1e-7,1.5e+300,-0.5,0.30000000000000004,123456.789]",
            "nonfinite": b"[null,null,null]",
            "strings": (b'["\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f/",'
                        b'"caf\xc3\xa9 \xf0\x9f\x98\x80","\xff\xfe raw"]'),
            "booleans": b"[true,false]",
            "number_key": b'{"5":"five"}',
            "float_key": b'{"2.5":"x"}',
            "empty": b"{}",
            "internal": b'{"visible":1}',
            "metatable": b'{"real":1}',
        }
        for name, body in cases.items():
            with self.subTest(name=name):
                self.assertJSONBytes(self.get("/encode/" + name), 200, body)

    def test_object_encodings(self):
        cases = {
            "holes": {"1": 1, "3": 3},
            "mixed": {"1": "a", "n": 1},
            "nested_empty": {"a": {}, "b": [{}]},
            "long_array": list(range(1, 101)),
            "depth64": nested(64),
        }
        for name, value in cases.items():
            with self.subTest(name=name):
                r = self.get("/encode/" + name)
                self.assertJSON(r, 200, value)
                self.assertNotIn(b" ", r.body)

    def test_serialization_failures(self):
        for name in ("function", "depth65", "cycle", "bool_key"):
            with self.subTest(name=name):
                r = self.get("/fail/" + name)
                self.assertStatus(r, 500)
                self.assertContentType(r, CT_JSON)
                self.assertLength(r)
                self.assertTrue(r.body.startswith(SERIALIZE_PREFIX), r.body)
                self.assertTrue(r.body.endswith(b'"}'), r.body)
                self.assertGreater(len(r.json()["error"]),
                                   len("Failed to serialize response: "))

    def test_builder_with_unencodable_value(self):
        r = self.get("/fail/json_builder")
        self.assertStatus(r, 500)
        self.assertContentType(r, CT_JSON)
        self.assertIn("error", r.json())


class JsonDecodeTest(RoverTestCase):
    APP = "tests/apps/json.lua"

    def post(self, path, body):
        return self.request("POST", path, headers={"Content-Type": "application/json"},
                            body=body)

    def test_null_members_absent(self):
        self.assertJSONBytes(self.post("/decode", b'{"a":null}'), 200, '{"v":{}}')

    def test_array_with_null_keeps_indices(self):
        r = self.post("/decode/array_keys", b"[1,null,3]")
        self.assertJSON(r, 200, {"keys": [1, 3], "first": 1, "third": 3,
                                 "second_is_nil": True})

    def test_object_keys_are_strings(self):
        r = self.post("/decode/keys", b'{"1":"a"}')
        self.assertJSON(r, 200, {"str": "a", "num": True, "n": 0})

    def test_duplicate_keys_last_wins(self):
        self.assertJSONBytes(self.post("/decode", b'{"a":1,"a":2}'), 200, '{"v":{"a":2}}')

    def test_arrays_and_nesting(self):
        r = self.post("/decode", b'{"list":[1,"two",[3],{"four":4}],"t":true,"f":false}')
        self.assertJSON(r, 200, {"v": {"list": [1, "two", [3], {"four": 4}],
                                       "t": True, "f": False}})

    def test_strings(self):
        cases = [
            (b'"\\u00e9"', b"\xc3\xa9"),
            (b'"\\u00E9"', b"\xc3\xa9"),
            (b'"\\ud83d\\ude00"', b"\xf0\x9f\x98\x80"),
            (b'"\\ud800"', b"\xef\xbf\xbd"),
            (b'"a\\udc00b"', b"a\xef\xbf\xbdb"),
            (b'"caf\xc3\xa9"', b"caf\xc3\xa9"),
            (b'"\\"\\\\\\/\\b\\f\\n\\r\\t"', b'"\\/\b\f\n\r\t'),
            (b'"\\u0000x"', b"\x00x"),
        ]
        for body, value in cases:
            with self.subTest(body=body):
                r = self.post("/decode/string", body)
                self.assertStatus(r, 200)
                self.assertEqual(r.body, value)

    def test_numbers_are_doubles(self):
        cases = [
            (b"1e3", "number 1000"),
            (b"-0.5", "number -0.5"),
            (b"12345678901234567890", "number 1.2345678901234567e+19"),
            (b"0.1", "number 0.10000000000000001"),
            (b"-2E-2", "number -0.02"),
        ]
        for body, text in cases:
            with self.subTest(body=body):
                self.assertText(self.post("/decode/number", body), 200, text)

    def test_depth_limit(self):
        self.assertText(self.post("/decode/ok", b"[" * 512 + b"]" * 512), 200, "table")
        r = self.post("/decode/ok", b"[" * 513 + b"]" * 513)
        self.assertStatus(r, 400)
        self.assertTrue(r.json()["error"].startswith("Invalid JSON in request body: "))

    def test_scalar_roots(self):
        self.assertText(self.post("/decode/ok", b"7"), 200, "number")
        self.assertText(self.post("/decode/ok", b'"x"'), 200, "string")
        self.assertText(self.post("/decode/ok", b"false"), 200, "boolean")
        self.assertText(self.post("/decode/ok", b" null "), 200, "nil")


if __name__ == "__main__":
    unittest.main()
