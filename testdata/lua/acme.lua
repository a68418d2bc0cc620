-- An ACME http-01 responder like the ones the corpus loads
-- (`http-request use-service lua.acme-http01`): answers
-- /.well-known/acme-challenge/<token> with "<token>.<thumbprint>".
local thumbprint = "Xq2d9_thumbprint"

core.register_service("acme-http01", "http", function(applet)
  local token = string.match(applet.path, "^/%.well%-known/acme%-challenge/([%w_-]+)$")
  if applet.method ~= "GET" or not token then
    applet:set_status(404)
    applet:add_header("content-type", "text/plain")
    applet:start_response()
    applet:send("not found\n")
    return
  end
  local body = token .. "." .. thumbprint
  applet:set_status(200)
  applet:add_header("content-length", tostring(#body))
  applet:start_response()
  applet:send(body)
end)
