-- wrk script: every request is a login on the login page: the password step of an
-- authorization request of a first-party client, answered 303 with a code. The browser's
-- CSRF cookie and the form's token are one fixed value (double submit). The form's
-- authorization parameters come after `--`, already urlencoded.
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  unexpected = 0
  headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "passflow-csrf=bench-csrf-token",
  }
  body = args[1] .. "&csrf=bench-csrf-token&username=johndoe&password="
    .. (os.getenv("LOGIN_PASSWORD") or "secret")
end

function request()
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  local location = headers["location"] or headers["Location"] or ""
  if status ~= 303 or not location:match("[?&]code=") then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("unexpected")
  end
  io.write(string.format("Unexpected answers (not 303 with a code): %d\n", total))
end
