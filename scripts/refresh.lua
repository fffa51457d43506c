-- wrk script: each thread keeps one session alive by refreshing it, one request at a time
-- (run with as many connections as threads). The refresh tokens of the sessions, one per
-- thread, come after `--`; each answer's new refresh token is the next request's.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("index", threads)
end

function init(args)
  refresh_token = assert(args[index], "one refresh token per thread after --")
end

function request()
  return wrk.format("POST", "/token",
    { ["Content-Type"] = "application/x-www-form-urlencoded" },
    "grant_type=refresh_token&refresh_token=" .. refresh_token)
end

function response(status, headers, body)
  if status == 200 then
    refresh_token = body:match('"refresh_token":"([^"]+)"')
  end
end
