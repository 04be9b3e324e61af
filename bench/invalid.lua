-- wrk script for the "request that fails validation" scenario: a fixed POST body whose `name`
-- is a number where the schema wants a string (no request() function, so wrk builds the request once).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name": 42}'
