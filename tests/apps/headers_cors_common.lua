-- Routes shared by the CORS apps (headers_cors_*.lua, server-features.md
-- §6); required by them, not run on its own. Compression is off in those
-- apps so that Vary holds only what CORS and the app put there.
--
-- /hooked has a before hook, an after hook and an options handler that
-- count their runs (GET /count/<name>), to show that a preflight runs none
-- of them.
return function(api)
  local counters = {}
  local function count(name) counters[name] = (counters[name] or 0) + 1 end

  function api.count.p_name.get(ctx) return counters[ctx:params().name] or 0 end

  function api.data.get(ctx) return { ok = true } end
  function api.vary.get(ctx)
    return api.json({ ok = true }):header("Vary", "Accept-Language")
  end
  function api.vary_origin.get(ctx)
    return api.json({ ok = true }):header("Vary", "Origin")
  end
  function api.app_cors.get(ctx)
    return api.text("app cors")
      :header("Access-Control-Allow-Origin", "https://evil.example")
      :header("access-control-allow-credentials", "false")
  end
  function api.boom.get(ctx) error("boom", 0) end
  function api.denied.get(ctx) return api:error(403, "denied") end
  function api.only_post.post(ctx) return "posted" end
  function api.hooked.before.mark(ctx) count("hooked:before") end
  function api.hooked.after.mark(ctx) count("hooked:after") end
  function api.hooked.get(ctx) return "hooked get" end
  function api.hooked.options(ctx)
    count("hooked:options")
    return api.text("custom options")
  end

  return api
end
