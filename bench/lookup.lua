-- wrk script: GET /v1/citizens/{pin} for random PINs read from pins.txt,
-- with the API key from the KEY environment variable.
local pins = {}
for line in io.lines(os.getenv("PINS") or "bench/out/pins.txt") do
  pins[#pins + 1] = line
end
local key = os.getenv("KEY")
math.randomseed(os.time())

request = function()
  local pin = pins[math.random(#pins)]
  return wrk.format("GET", "/v1/citizens/" .. pin, {
    ["Authorization"] = "Bearer " .. key,
    ["X-Purpose"] = "benchmark",
  })
end

-- One JSON line with the figures run.sh records.
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('{"clients": %d, "seconds": %.3f, "requests": %d, "errors": %d, "rps": %.1f, "p50_ms": %.3f, "p99_ms": %.3f}\n',
    tonumber(os.getenv("CLIENTS") or 0), summary.duration / 1e6, summary.requests, errors,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
