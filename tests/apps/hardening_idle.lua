-- Many idle keep-alive connections (lua-api.md §11.2, §11.3): a long idle
-- timeout so that they stay open for the whole test. Used by test_hardening.py.
local api = rover.server {
  log_level = "warn", workers = 2,
  timeouts = { idle = 120 },
}

-- One io.write per line: both workers run on_ready at once, and print()'s
-- separate writes of the text and the newline could interleave ("READYREADY").
function api.on_ready() io.write("READY\n") io.stdout:flush() end
function api.get(ctx) return "ok" end
function api.n.p_n.get(ctx) return "n=" .. ctx:params().n end

return api
