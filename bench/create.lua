-- wrk script for the "POST create a customer" scenario: every request carries a new email
-- (a per-run prefix, given after `--`, plus a counter), so no request collides with another.
local counter = 0
local prefix = "bench"

function init(args)
  if args[1] then prefix = args[1] end
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  counter = counter + 1
  local body = string.format(
    '{"name":"Bench Company %d","email":"bench-%s-%d@example.com","city":"Chicago","state":"IL","country":"US"}',
    counter, prefix, counter)
  return wrk.format(nil, nil, nil, body)
end
