"""lua-api.md §10: guard validation through ctx:body():expect and rover.guard."""

import unittest

from harness import CT_JSON, RoverTestCase


def err(field, message, type_):
    return {"field": field, "message": message, "type": type_}


class GuardTest(RoverTestCase):
    APP = "tests/apps/guard.lua"

    def post(self, path, body):
        return self.request("POST", path, headers={"Content-Type": "application/json"},
                            body=body)

    def test_spec_example_valid(self):
        r = self.post("/members", b'{"email":"a@b.c","age":30,"extra":1}')
        self.assertJSON(r, 201, {"email": "a@b.c", "plan": "free", "age": 30})
        r = self.post("/members", b'{"email":"a@b.c","plan":"team","prefs":{"x":1}}')
        self.assertJSON(r, 201, {"email": "a@b.c", "plan": "team", "prefs": {"lang": "en"}})

    def test_custom_required_message(self):
        r = self.post("/members", b"{}")
        self.assertJSON(r, 400, {"errors": [
            err("email", "Please give an email address", "required")]})

    def test_errors_collected_in_field_order(self):
        r = self.post("/members", b'{"email":5,"plan":"gold","age":1.5}')
        self.assertJSON(r, 400, {"errors": [
            err("age", "Must be an integer, got float 1.5", "type"),
            err("email", "Must be a string, got integer", "type"),
            err("plan", "Must be one of: free, team. Got: 'gold'", "enum"),
        ]})

    def test_nested_and_array_paths(self):
        r = self.post("/orders", b'{"user":{},"items":[{"sku":"a"},{"qty":2}],'
                                 b'"tags":["x",3],"flag":"yes","size":3}')
        self.assertJSON(r, 400, {"errors": [
            err("flag", "Must be a boolean, got string", "type"),
            err("items[2].sku", "Field 'items[2].sku' is required", "required"),
            err("size", "Must be one of: 1, 2. Got: '3'", "enum"),
            err("tags[2]", "Must be a string, got integer", "type"),
            err("user.email", "Field 'user.email' is required", "required"),
        ]})

    def test_nested_valid_output(self):
        r = self.post("/orders", b'{"user":{"email":"e","x":1},"items":[{"sku":"a"}],'
                                 b'"note":null,"junk":true}')
        self.assertJSON(r, 200, {"user": {"email": "e"}, "items": [{"sku": "a", "qty": 1}]})

    def test_container_type_errors(self):
        r = self.post("/orders", b'{"user":[1],"items":{"a":1}}')
        self.assertJSON(r, 400, {"errors": [
            err("items", "Must be an array, got object", "type"),
            err("user", "Must be an object, got array", "type"),
        ]})
        r = self.post("/orders", b'{"user":"u"}')
        self.assertJSON(r, 400, {"errors": [
            err("items", "Field 'items' is required", "required"),
            err("user", "Must be an object, got string", "type"),
        ]})

    def test_direct_guard_and_validate(self):
        r = self.post("/direct", b'{"n":1,"s":"x","z":1}')
        self.assertJSON(r, 200, {"ok": True, "out": {"n": 1, "s": "x"}})
        r = self.post("/direct", b'{"n":"x"}')
        self.assertStatus(r, 200)
        d = r.json()
        self.assertEqual(d["ok"], False)
        self.assertEqual(d["errors"], [{"field": "n", "path": "n", "type": "type",
                                        "message": "Must be a number, got string"}])
        self.assertEqual(d["to_json"], {"errors": [
            err("n", "Must be a number, got string", "type")]})
        self.assertEqual(d["text"].rstrip("\n"),
                         "Validation failed for request body:\n\n"
                         "  1. Field 'n'\n"
                         "     Error: Must be a number, got string\n"
                         "     Type: type")

    def test_uncaught_guard_error_is_400(self):
        r = self.post("/uncaught", b'{"id":"x"}')
        self.assertJSON(r, 400, {"errors": [err("id", "Must be an integer, got string", "type")]})

    def test_plain_errors_are_500(self):
        cases = {"/not_table": "rover.guard: data must be a table",
                 "/bad_schema": "Invalid schema for field 'x'"}
        for path, message in cases.items():
            with self.subTest(path=path):
                r = self.get(path)
                self.assertStatus(r, 500)
                self.assertContentType(r, CT_JSON)
                self.assertIn(message, r.json()["error"])

    def test_validate_results(self):
        self.assertJSON(self.get("/validate_other"), 200, {"ok": False, "err": "plain failure"})
        self.assertJSONBytes(self.get("/validate_results"), 200, '[true,5,"second"]')


if __name__ == "__main__":
    unittest.main()
