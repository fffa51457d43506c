-- wrk script: every request is the tutorial's login.
wrk.method = "POST"
wrk.body = "username=johndoe&password=secret"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
