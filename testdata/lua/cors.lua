-- A CORS action pair in the style of haproxy-lua-cors: `http-request lua.cors
-- <methods> <origins> <headers>` remembers the request's Origin, `http-response
-- lua.cors` answers with the Access-Control-* headers when it is allowed.
local function allowed(origin, list)
  for pat in string.gmatch(list, "([^,]+)") do
    pat = string.gsub(pat, "^%s+", "")
    if pat == "*" then return "*" end
    if string.lower(origin) == string.lower(pat) or string.match(string.lower(origin), "^https?://" .. string.gsub(string.lower(pat), "%.", "%%.") .. "$") then
      return origin
    end
  end
  return nil
end

core.register_action("cors", {"http-req"}, function(txn, methods, origins, headers)
  local hdrs = txn.http:req_get_headers()
  local origin = hdrs["origin"] and hdrs["origin"][0]
  if not origin then return end
  local allow = allowed(origin, origins)
  txn:set_var("txn.cors_origin", allow or "")
  txn:set_var("txn.cors_methods", methods)
  txn:set_var("txn.cors_headers", headers)
  if txn.sf:method() == "OPTIONS" and allow then
    local reply = txn:reply()
    reply:set_status(204, "No Content")
    reply:add_header("access-control-allow-origin", allow)
    reply:add_header("access-control-allow-methods", methods)
    reply:add_header("access-control-allow-headers", headers)
    reply:add_header("access-control-max-age", "600")
    txn:done(reply)
  end
end, 3)

core.register_action("cors", {"http-res"}, function(txn)
  local origin = txn:get_var("txn.cors_origin")
  if origin == nil or origin == "" then return end
  txn.http:res_set_header("access-control-allow-origin", origin)
  txn.http:res_add_header("vary", "Origin")
end, 0)
