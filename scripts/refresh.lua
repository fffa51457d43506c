-- wrk script: each thread keeps one session alive by refreshing it, one request at a time
-- (run with as many connections as threads, so each connection is one refresh chain). The
-- refresh tokens of the sessions, one per thread, come after `--`; each answer's new refresh
-- token is the next request's. With REFRESH_SPREAD=1 in the environment, each chain claims an
-- address of its own (X-Forwarded-For: 10.77.x.y; the server must trust 127.0.0.1). With
-- REFRESH_BASIC set, every request authenticates that client (sessions a code exchange began).
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("index", threads)
end

function init(args)
  refresh_token = assert(args[index], "one refresh token per thread after --")
  headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  local basic = os.getenv("REFRESH_BASIC")
  if basic and basic ~= "" then
    headers["Authorization"] = "Basic " .. basic
  end
  if os.getenv("REFRESH_SPREAD") == "1" then
    headers["X-Forwarded-For"] = string.format("10.77.%d.%d", math.floor(index / 256), index % 256)
  end
end

function request()
  return wrk.format("POST", "/token", headers,
    "grant_type=refresh_token&refresh_token=" .. refresh_token)
end

function response(status, headers, body)
  if status == 200 then
    refresh_token = body:match('"refresh_token":"([^"]+)"')
  end
end
