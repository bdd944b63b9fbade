-- wrk script: POST /v1/partner/match for random PINs read from PINS, with
-- the partner's access token from TOKEN. Each check asks three fields
-- (name without diacritics, date of birth, sex), as a bank's eKYC does.
local pins = {}
for line in io.lines(os.getenv("PINS")) do
  pins[#pins + 1] = line
end
local token = os.getenv("TOKEN")
local headers = {
  ["Authorization"] = "Bearer " .. token,
  ["Content-Type"] = "application/json",
}
math.randomseed(os.time())

request = function()
  local pin = pins[math.random(#pins)]
  local body = '{"pin":"' .. pin .. '","name":"Nguyen Van An","name_rule":"no_diacritics","birth_date":"1990-01-01","sex":"male"}'
  return wrk.format("POST", "/v1/partner/match", headers, body)
end

-- One JSON line with the figures match.sh records; non-2xx answers are
-- errors (a refused check is not a check).
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('{"clients": %d, "seconds": %.3f, "requests": %d, "errors": %d, "rps": %.1f, "p50_ms": %.3f, "p99_ms": %.3f}\n',
    tonumber(os.getenv("CLIENTS") or 0), summary.duration / 1e6, summary.requests, errors,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
