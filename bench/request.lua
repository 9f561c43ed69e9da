-- The benchmark's wrk script: bench/wrk.py fills in the tokens, paths, method and body.
local tokens = {%(tokens)s}
local paths = {%(paths)s}
local extra = {%(extra)s}
local method = "%(method)s"
local run = "%(run)s"
local body = %(body)s
local counter = 0
local id = 0

setup = function(thread)
  id = id + 1
  thread:set("id", id)
end

request = function()
  counter = counter + 1
  local i = (counter %% #tokens) + 1
  local headers = {["Authorization"] = "Bearer " .. tokens[i], ["X-Forwarded-For"] = "10.9." .. (i %% 250) .. ".1"}
  if #extra > 0 then headers["X-Access-Hash"] = extra[i] end
  local payload = nil
  if body then
    headers["Content-Type"] = "application/json"
    payload = string.format(body, run .. "-" .. tostring(id) .. "-" .. tostring(counter))
  end
  return wrk.format(method, paths[i], headers, payload)
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'WRK {"requests": %%d, "seconds": %%f, "errors": %%d, "non2xx": %%d, "timeouts": %%d, "p50_ms": %%f, "p99_ms": %%f, "mean_ms": %%f}\n',
    summary.requests, summary.duration / 1e6, errors, summary.errors.status, summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000))
end
