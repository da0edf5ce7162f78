-- HTML templates: {{ expr }} and {{ if/for/while ... }} tags.
--
-- Run:   rover examples/templates.lua
-- Try:   curl http://localhost:4242/
--        curl 'http://localhost:4242/greet?name=<script>'   # escaped with rover.html.escape

local api = rover.server { log_level = "info" }

-- A component: functions stored on rover.html are visible in templates.
rover.html.badge = function(text)
  return '<span class="badge">' .. rover.html.escape(text) .. "</span>"
end

function api.get(ctx)
  return api.html({ user = { name = "ada" }, tags = { "lua", "http" } }) [[
<!doctype html>
<h1>Hello {{ user.name:upper() }}</h1>
{{ if #tags > 0 then }}
<ul>{{ for _, t in ipairs(tags) do }}<li>{{ badge(t) }}</li>{{ end }}</ul>
{{ else }}
<p>no tags</p>
{{ end }}]]
end

function api.greet.get(ctx)
  local name = ctx:query().name or "stranger"
  return api.html({ name = name }) [[<p>Hello, {{ rover.html.escape(name) }}!</p>]]
end

return api
