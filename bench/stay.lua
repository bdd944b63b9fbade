-- wrk script: POST /v1/stays, one stay notification per request from a
-- lodging's key (KEY), each with its own reference so none is a retry.
-- Arrivals are ten minutes ago: the deadline check runs, the answer is
-- on time (or late after 23:00, which changes nothing in the cost).
local key = os.getenv("KEY")
local counter = 0
local tid = 0

setup = function(thread)
  tid = tid + 1
  thread:set("tid", tid)
end

request = function()
  counter = counter + 1
  local arrival = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 600)
  local body = string.format('{"reference":"t%d-%d-%d","host":"Khách sạn Ba Đình","place":{"era":"34","province":"01","commune":"00004","detail":"số 5 ngõ Trúc Lạc"},' ..
    '"guests":[{"pin":"001090%06d"},{"name":"John Smith","document":"P%07d"}],"arrival":"%s"}',
    tid or 0, os.time(), counter, counter % 1000000, counter, arrival)
  return wrk.format("POST", "/v1/stays", {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json",
  }, body)
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('{"requests": %d, "errors": %d, "rps": %.1f, "p50_ms": %.3f, "p99_ms": %.3f}\n',
    summary.requests, errors, summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
