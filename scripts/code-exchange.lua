-- wrk script: each thread trades the codes CODES_DIR/codes-<thread>.txt holds at /token, one
-- per request, each once (grant_type=authorization_code, client_secret_basic, PKCE). The
-- client's Basic credentials and the PKCE verifier come after `--`. Run with as many
-- connections as threads. A thread out of codes sends a spent one, which counts as non-2xx.
-- With EXCHANGE_SPREAD=1, each thread claims an address of its own (X-Forwarded-For).
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("index", threads)
end

function init(args)
  local basic, verifier, redirect = args[1], args[2], args[3]
  codes = {}
  for line in io.lines(os.getenv("CODES_DIR") .. "/codes-" .. index .. ".txt") do
    codes[#codes + 1] = line
  end
  next_code = 1
  headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. basic,
  }
  if os.getenv("EXCHANGE_SPREAD") == "1" then
    headers["X-Forwarded-For"] = string.format("10.78.%d.%d", math.floor(index / 256), index % 256)
  end
  tail = "&redirect_uri=" .. redirect .. "&code_verifier=" .. verifier
end

function request()
  local code = codes[math.min(next_code, #codes)]
  next_code = next_code + 1
  return wrk.format("POST", "/token", headers, "grant_type=authorization_code&code=" .. code .. tail)
end
