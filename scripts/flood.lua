-- wrk script for the flood scenario: every request is a POST /token of one kind, chosen by
-- the argument after `--`: valid (the tutorial's login), wrong (a wrong password), garbage
-- (a form that is not a login at all).
local bodies = {
  valid = "username=johndoe&password=secret",
  wrong = "username=johndoe&password=not-the-password",
  garbage = "%%%&&&===x&username&=&password=%zz",
}

function init(args)
  local kind = args[1] or "valid"
  wrk.method = "POST"
  wrk.body = assert(bodies[kind], "kind must be valid, wrong or garbage")
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
