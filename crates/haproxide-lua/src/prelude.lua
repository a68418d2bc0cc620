-- haproxide's HAProxy Lua API (doc/lua-api/index.rst, HAProxy 2.6), the part
-- written in Lua. `hpx` is the Rust side: hpx.log(level, msg), hpx.now().
-- Each call of a registered function gets a bridge `b(op, ...)` valid for that
-- call only (the transaction it reads and edits).
local hpx = ...
local reg = {
  actions = { ["http-req"] = {}, ["http-res"] = {}, ["tcp-req"] = {}, ["tcp-res"] = {}, ["http-after-res"] = {} },
  services = {}, fetches = {}, converters = {}, inits = {},
}

local function refuse(what)
  return function()
    error(what .. " is not supported by haproxide", 2)
  end
end

core = {}
core.emerg, core.alert, core.crit, core.err = 0, 1, 2, 3
core.warning, core.notice, core.info, core.debug = 4, 5, 6, 7
core.thread = 0

function core.log(level, msg) hpx.log(level, tostring(msg)) end
function core.Debug(msg) hpx.log(7, tostring(msg)) end
function core.Info(msg) hpx.log(6, tostring(msg)) end
function core.Warning(msg) hpx.log(4, tostring(msg)) end
function core.Alert(msg) hpx.log(1, tostring(msg)) end
function core.now() return hpx.now() end
function core.yield() end
core.proxies, core.frontends, core.backends = {}, {}, {}

local function check_name(fn, name)
  if type(name) ~= "string" then error(fn .. ": the name must be a string", 3) end
end

function core.register_action(name, actions, func, nb_args)
  check_name("register_action", name)
  if type(actions) ~= "table" then error("register_action: the action list must be a table", 2) end
  if type(func) ~= "function" then error("register_action: the action must be a function", 2) end
  for _, k in ipairs(actions) do
    if reg.actions[k] == nil then
      error("register_action: Lua action '" .. tostring(k) .. "' unknown", 2)
    end
    reg.actions[k][name] = { fn = func, nb_args = nb_args or 0 }
  end
end

function core.register_service(name, mode, func)
  check_name("register_service", name)
  if mode ~= "http" and mode ~= "tcp" then error("register_service: the mode must be 'http' or 'tcp'", 2) end
  if type(func) ~= "function" then error("register_service: the service must be a function", 2) end
  reg.services[name] = { fn = func, mode = mode }
end

function core.register_fetches(name, func)
  check_name("register_fetches", name)
  reg.fetches[name] = func
end

function core.register_converters(name, func)
  check_name("register_converters", name)
  reg.converters[name] = func
end

function core.register_init(func)
  reg.inits[#reg.inits + 1] = func
end

core.register_task = refuse("core.register_task")
core.register_cli = refuse("core.register_cli")
core.tcp = refuse("core.tcp")
core.httpclient = refuse("core.httpclient")
core.msleep = refuse("core.msleep (a synchronous sleep)")
core.sleep = refuse("core.sleep (a synchronous sleep)")
core.add_acl = refuse("core.add_acl")
core.del_acl = refuse("core.del_acl")
core.set_map = refuse("core.set_map")
core.del_map = refuse("core.del_map")
core.get_info = refuse("core.get_info")
core.queue = refuse("core.queue")
core.event_sub = refuse("core.event_sub")

-- A script must not end the process (a reload runs the new files inside the
-- running proxy).
os.exit = refuse("os.exit")

-- A runaway loop in a coroutine of the script's own would escape the
-- instruction-count hook of the call: haproxide refuses them (docs/lua.md).
coroutine.create = refuse("coroutine.create")
coroutine.wrap = refuse("coroutine.wrap")

-- HAProxy's header table: lower-cased names, each a table of values indexed from 0.
local function headers(b, which)
  local list = b("headers", which)
  local t = {}
  local n = {}
  for i = 1, #list, 2 do
    local name, value = list[i], list[i + 1]
    local e = t[name]
    if not e then
      e = {}
      t[name] = e
      n[name] = 0
    end
    e[n[name]] = value
    n[name] = n[name] + 1
  end
  return t
end

local function fetch_table(b, safe)
  return setmetatable({}, {
    __index = function(_, k)
      return function(_, ...) return b("fetch", k, safe, ...) end
    end,
  })
end

local function common(b, o)
  o.f = fetch_table(b, false)
  o.sf = fetch_table(b, true)
  function o:get_var(n) return b("get_var", n) end
  function o:set_var(n, v, ifexist) return b("set_var", n, v, ifexist) end
  function o:unset_var(n) b("unset_var", n) end
  local priv
  function o:get_priv() return priv end
  function o:set_priv(p) priv = p end
  function o:log(level, msg) hpx.log(level, tostring(msg)) end
  function o:Debug(msg) hpx.log(7, tostring(msg)) end
  function o:Info(msg) hpx.log(6, tostring(msg)) end
  function o:Warning(msg) hpx.log(4, tostring(msg)) end
  function o:Alert(msg) hpx.log(1, tostring(msg)) end
  return o
end

local function http_class(b)
  local h = {}
  for _, side in ipairs({ "req", "res" }) do
    h[side .. "_get_headers"] = function(_) return headers(b, side) end
    h[side .. "_add_header"] = function(_, n, v) b("add_header", side, n, v) end
    h[side .. "_set_header"] = function(_, n, v) b("set_header", side, n, v) end
    h[side .. "_del_header"] = function(_, n) b("del_header", side, n) end
  end
  function h:req_set_method(m) b("set_part", "method", m) end
  function h:req_set_path(p) b("set_part", "path", p) end
  function h:req_set_query(q) b("set_part", "query", q) end
  function h:req_set_uri(u) b("set_part", "uri", u) end
  function h:res_set_status(code, reason) b("set_status", code, reason) end
  return h
end

local DONE = "\0haproxide-done"

local function make_reply(t)
  local r = { status = 200, reason = nil, headers = {}, body = "" }
  if type(t) == "table" then
    r.status = t.status or 200
    r.reason = t.reason
    r.body = t.body or ""
    for n, v in pairs(t.headers or {}) do
      if type(v) == "table" then
        for _, x in ipairs(v) do r.headers[#r.headers + 1] = { n, x } end
      else
        r.headers[#r.headers + 1] = { n, v }
      end
    end
  end
  function r:set_status(s, reason) self.status = s; self.reason = reason end
  function r:add_header(n, v) self.headers[#self.headers + 1] = { n, v } end
  function r:del_header(n)
    local keep = {}
    for _, h in ipairs(self.headers) do
      if string.lower(h[1]) ~= string.lower(n) then keep[#keep + 1] = h end
    end
    self.headers = keep
  end
  function r:set_body(s) self.body = s end
  return r
end

local function make_txn(b)
  local txn = common(b, {})
  txn.http = http_class(b)
  function txn:reply(t) return make_reply(t) end
  function txn:done(r)
    b("done", r)
    error(DONE, 0)
  end
  return txn
end

local function make_applet(b)
  local a = common(b, {})
  local info = b("request")
  a.method, a.path, a.qs, a.version, a.length = info[1], info[2], info[3], info[4], info[5]
  a.headers = headers(b, "req")
  function a:set_status(code, reason) b("status", code, reason) end
  function a:add_header(n, v) b("add_header", n, v) end
  function a:start_response() b("start") end
  function a:send(d) b("send", tostring(d)) end
  function a:receive(n) return b("receive", n) end
  function a:getline() return b("getline") end
  return a
end

-- Entry points (called from Rust with a bridge).
local entry = {}

function entry.has(kind, name)
  if reg.actions[kind] then
    return reg.actions[kind][name] ~= nil
  elseif kind == "service" then
    local s = reg.services[name]
    return s ~= nil and s.mode == "http"
  elseif kind == "fetch" then
    return reg.fetches[name] ~= nil
  elseif kind == "converter" then
    return reg.converters[name] ~= nil
  end
  return false
end

function entry.action(b, kind, name, ...)
  return reg.actions[kind][name].fn(make_txn(b), ...)
end

function entry.service(b, name)
  return reg.services[name].fn(make_applet(b))
end

function entry.fetch(b, name, ...)
  return reg.fetches[name](make_txn(b), ...)
end

function entry.convert(name, input, ...)
  return reg.converters[name](input, ...)
end

function entry.inits()
  local l = reg.inits
  reg.inits = {}
  return l
end

entry.DONE = DONE
return entry
