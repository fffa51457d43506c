-- wrk script for bench.sh --audit: wrong passwords from many addresses (an X-Forwarded-For
-- the server trusts from 127.0.0.1), at 64 names of which one, johndoe, exists. Prints how
-- many answers of each status came back, from every thread.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  local address = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255),
    math.random(1, 254))
  local user = math.random(1, 64) == 1 and "johndoe" or ("nobody-" .. math.random(1, 63))
  return wrk.format("POST", "/token", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Forwarded-For"] = address,
  }, "username=" .. user .. "&password=wrong-" .. math.random(1, 1000000))
end

function response(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function done()
  local total = {}
  for _, thread in ipairs(threads) do
    local counted = thread:get("statuses")
    for status, n in pairs(counted) do
      total[status] = (total[status] or 0) + n
    end
  end
  for status, n in pairs(total) do
    io.write(string.format("status %d %d\n", status, n))
  end
end
