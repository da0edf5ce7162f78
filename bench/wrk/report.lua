-- Derived from the project's shared reference ../shared/bench/wrk/report.lua (the
-- peer-benchmark method); this copy adds p99.9 (p999_us) to the BENCH_RESULT line.
-- Shared wrk done() hook: prints one machine-readable line that lib.sh parses.
-- Latency values are in microseconds (wrk's native unit).
--
-- Pipelined workloads (the script sets `pipeline_depth`, see pipeline.lua):
-- wrk records one latency sample per batch, but after the run it applies its
-- coordinated-omission correction with an interval computed from responses,
-- not batches (runtime / (responses / connections)), which adds synthetic
-- samples below the smallest real one; wrk's own percentiles then come out as
-- 0 (wg/wrk issue #236). So for pipelined runs this hook undoes that
-- correction (it is deterministic: stats_correct() in wrk 4.x's stats.c,
-- given the interval, which needs the connection count from WRK_CONNECTIONS)
-- and reports the real per-batch latency: p50_us/p90_us/p99_us/p999_us/mean_us are
-- then "first request of a batch written -> last response of it read",
-- uncorrected, and the line carries latency=batch depth=N batches=COUNT.
-- Without WRK_CONNECTIONS, the pipelined latency fields are -1.
local function batch_latency(summary, latency)
  local conns = tonumber(os.getenv("WRK_CONNECTIONS") or "")
  if not conns or conns < 1 then return nil end
  local per_conn = math.floor(summary.requests / conns)
  local e = per_conn > 0 and math.floor(summary.duration / per_conn) or nil
  -- distinct latency values with their (corrected) counts, ascending
  local vals, cnt = {}, {}
  for i = 1, #latency do
    local v, c = latency(i)
    vals[i], cnt[v] = v, c
  end
  local orig, added, n = {}, {}, 0
  for i = #vals, 1, -1 do          -- from the largest value down: undo stats_correct
    local v = vals[i]
    local o = cnt[v] - (added[v] or 0)
    if o < 0 then return nil end   -- inconsistent: give up rather than report nonsense
    orig[v] = o
    n = n + o
    if e and o > 0 and v >= 2 * e then
      local m = v - e
      while m > e do added[m] = (added[m] or 0) + o; m = m - e end
    end
  end
  if n == 0 then return nil end
  local function pct(p)
    local rank = math.floor(p / 100 * n + 0.5 + 0.5)   -- wrk: round(p/100*count + 0.5)
    local total = 0
    for i = 1, #vals do
      total = total + orig[vals[i]]
      if total >= rank then return vals[i] end
    end
    return vals[#vals]
  end
  local sum = 0
  for i = 1, #vals do sum = sum + vals[i] * orig[vals[i]] end
  return {p50 = pct(50), p90 = pct(90), p99 = pct(99), p999 = pct(99.9), mean = sum / n, n = n}
end

done = function(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  local p50, p90, p99, mean = latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean
  local p999 = latency:percentile(99.9)
  local extra = ""
  if pipeline_depth then
    local b = batch_latency(summary, latency)
    if b then
      p50, p90, p99, p999, mean = b.p50, b.p90, b.p99, b.p999, b.mean
      extra = string.format(" latency=batch depth=%d batches=%d", pipeline_depth, b.n)
    else
      p50, p90, p99, p999, mean = -1, -1, -1, -1, -1
      extra = string.format(" latency=unavailable depth=%d", pipeline_depth)
    end
  end
  io.write(string.format(
    "BENCH_RESULT rps=%.2f requests=%d duration_s=%.3f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%.1f err_connect=%d err_read=%d err_write=%d err_timeout=%d err_status=%d bytes=%d%s\n",
    summary.requests / secs, summary.requests, secs,
    p50, p90, p99, p999, latency.max, mean,
    e.connect, e.read, e.write, e.timeout, e.status, summary.bytes, extra))
end
