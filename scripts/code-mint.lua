-- wrk script: authorization codes minted for the code-exchange runs. The session cookies of
-- browsers signed in on the login page (whose client needs no consent) come after `--`;
-- thread t takes cookies t, t + threads, … and asks each for CODES_PER_COOKIE codes, then
-- stops. Every GET /authorize answers 302 with a fresh code, which the thread appends to
-- CODES_DIR/codes-<t>.txt. MINT_THREADS: wrk's -t. The query string comes as the URL's.
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("index", #threads)
end

function init(args)
  local stride = tonumber(os.getenv("MINT_THREADS"))
  mine = {}
  for i = index, #args, stride do
    mine[#mine + 1] = args[i]
  end
  per_cookie = tonumber(os.getenv("CODES_PER_COOKIE"))
  asked = 0
  out = assert(io.open(os.getenv("CODES_DIR") .. "/codes-" .. index .. ".txt", "a"))
  unexpected = 0
end

function request()
  local cookie = mine[math.floor(asked / per_cookie) + 1]
  asked = asked + 1
  if not cookie then
    wrk.thread:stop()
    cookie = mine[1]
  end
  return wrk.format("GET", nil, { ["Cookie"] = cookie })
end

function response(status, headers, body)
  local location = headers["location"] or headers["Location"] or ""
  local code = status == 302 and location:match("[?&]code=([^&]+)")
  if code then
    out:write(code, "\n")
    out:flush()
  else
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("unexpected")
  end
  io.write(string.format("Unexpected answers (not 302 with a code): %d\n", total))
end
