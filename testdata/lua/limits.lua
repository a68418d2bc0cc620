-- Scripts that must not take the proxy down: a loop that never ends and a
-- memory hog, as a service and as an action; and a fetch and a converter.
core.register_service("spin", "http", function(applet)
  local n = 0
  while true do n = n + 1 end
end)

core.register_service("spin-pcall", "http", function(applet)
  while true do pcall(function() while true do end end) end
end)

core.register_service("hog", "http", function(applet)
  local t = {}
  local i = 0
  while true do
    i = i + 1
    t[i] = string.rep("x", 4096) .. i
  end
end)

core.register_action("spin", {"http-req"}, function(txn)
  while true do end
end, 0)

core.register_action("tag", {"http-req", "http-res"}, function(txn, v)
  if txn.http.res_set_header and txn:get_var("txn.tagged") then
    txn.http:res_add_header("x-tag", txn:get_var("txn.tagged"))
  else
    txn:set_var("txn.tagged", v .. ":" .. txn.sf:path())
  end
end, 1)

core.register_service("echo", "http", function(applet)
  local body = applet:receive()
  local out = applet.method .. " " .. applet.path .. " q=" .. applet.qs .. " len=" .. #body .. " host=" .. (applet.headers["host"] and applet.headers["host"][0] or "-") .. " var=" .. tostring(applet:get_var("txn.tagged")) .. "\n" .. body
  applet:set_status(201, "Made")
  applet:add_header("content-type", "text/plain")
  applet:start_response()
  applet:send(out)
end)

core.register_fetches("greeting", function(txn, who)
  return "hello " .. (who or "nobody") .. " from " .. txn.sf:src()
end)

core.register_converters("shout", function(s, suffix)
  return string.upper(s) .. (suffix or "")
end)

core.register_service("exit", "http", function(applet)
  os.exit(3)
end)
