-- wrk script: every request is the tutorial's login.
wrk.method = "POST"
-- LOGIN_PASSWORD: a database's johndoe has a password the policy accepts.
wrk.body = "username=johndoe&password=" .. (os.getenv("LOGIN_PASSWORD") or "secret")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
