#!/usr/bin/env node
// Validates an OpenAPI document against the OpenAPI 3.0 JSON schema (and the
// extra rules of @apidevtools/swagger-parser).
//   node tests/tools/validate_openapi.js <file.json>
// Exit 0 when valid; otherwise the errors go to stderr and the exit code is 1
// (2 for a usage error or an unreadable / non-JSON file).
"use strict";
const fs = require("fs");
const SwaggerParser = require("@apidevtools/swagger-parser");

async function main() {
  const file = process.argv[2];
  if (!file || process.argv.length > 3) {
    console.error("usage: validate_openapi.js <file.json>");
    return 2;
  }
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    console.error("cannot read " + file + ": " + e.message);
    return 2;
  }
  if (typeof doc.openapi !== "string" || !doc.openapi.startsWith("3.0.")) {
    console.error("not an OpenAPI 3.0 document: openapi = " + JSON.stringify(doc.openapi));
    return 1;
  }
  try {
    await SwaggerParser.validate(doc);
  } catch (e) {
    console.error(e.message);
    if (Array.isArray(e.details)) console.error(JSON.stringify(e.details, null, 2));
    return 1;
  }
  console.log("valid OpenAPI " + doc.openapi);
  return 0;
}

main().then((code) => process.exit(code), (e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
