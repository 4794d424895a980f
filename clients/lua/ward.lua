-- ward — call the host's functions from inside a ward box.
--
--     local ward = require("ward")
--     local post = ward.call("get_post", 3)
--     local same = ward.fn.get_post(3)
--
-- A failed call raises an error value {code = ..., message = ...} (a table
-- whose tostring is "CODE: MESSAGE"); use pcall to catch it. JSON null is
-- ward.null; arrays are tables with keys 1..n (an empty table encodes as
-- []). Protocol: ward's docs/PROTOCOL.md. Needs only ward_core (two fd
-- calls in C, next to this file).
local core = require("ward_core")

local ward = {}
ward.null = setmetatable({}, {__tostring = function() return "null" end})

local error_mt = {__tostring = function(e) return e.code .. ": " .. e.message end}
local function fail(code, message)
  error(setmetatable({code = code, message = message}, error_mt), 0)
end

-- ---- JSON ------------------------------------------------------------------

local escapes = {['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                 ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t"}

local function encode(v, out)
  local t = type(v)
  if v == nil or v == ward.null then
    out[#out + 1] = "null"
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      error("cannot encode " .. tostring(v) .. " as JSON", 0)
    end
    if math.type(v) == "integer" then
      out[#out + 1] = string.format("%d", v)
    else
      out[#out + 1] = string.format("%.17g", v)
    end
  elseif t == "string" then
    out[#out + 1] = '"' .. v:gsub('[%c"\\]', function(c)
      return escapes[c] or string.format("\\u%04x", c:byte())
    end) .. '"'
  elseif t == "table" then
    local n = #v
    local is_array = next(v) == nil or n > 0
    if is_array then
      for k in pairs(v) do
        if math.type(k) ~= "integer" or k < 1 or k > n then is_array = false break end
      end
    end
    if is_array then
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out)
      end
      out[#out + 1] = "]"
    else
      out[#out + 1] = "{"
      local first = true
      for k, x in pairs(v) do
        if type(k) ~= "string" then error("cannot encode a table key of type " .. type(k) .. " as JSON", 0) end
        if not first then out[#out + 1] = "," end
        first = false
        encode(k, out)
        out[#out + 1] = ":"
        encode(x, out)
      end
      out[#out + 1] = "}"
    end
  else
    error("cannot encode a " .. t .. " as JSON", 0)
  end
end

local function decode(s)
  local pos = 1
  local value

  local function bad(what)
    fail("bad-reply", "malformed JSON from the host: " .. what .. " at byte " .. pos)
  end
  local function skip()
    pos = s:find("[^ \t\r\n]", pos) or #s + 1
  end
  local function utf8_of(cp)
    return utf8.char(cp)
  end
  local function str()
    local parts = {}
    pos = pos + 1
    while true do
      local a, b = s:find('^[^"\\]+', pos)
      if a then parts[#parts + 1] = s:sub(a, b) pos = b + 1 end
      local c = s:sub(pos, pos)
      if c == '"' then pos = pos + 1 return table.concat(parts) end
      if c ~= "\\" then bad("unterminated string") end
      local e = s:sub(pos + 1, pos + 1)
      local simple = ({['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f",
                       n = "\n", r = "\r", t = "\t"})[e]
      if simple then
        parts[#parts + 1] = simple
        pos = pos + 2
      elseif e == "u" then
        local cp = tonumber(s:sub(pos + 2, pos + 5), 16) or bad("bad \\u escape")
        pos = pos + 6
        if cp >= 0xD800 and cp <= 0xDBFF and s:sub(pos, pos + 1) == "\\u" then
          local lo = tonumber(s:sub(pos + 2, pos + 5), 16)
          if lo and lo >= 0xDC00 and lo <= 0xDFFF then
            cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
            pos = pos + 6
          end
        end
        parts[#parts + 1] = utf8_of(cp)
      else
        bad("bad escape")
      end
    end
  end
  function value()
    skip()
    local c = s:sub(pos, pos)
    if c == "{" then
      local t = {}
      pos = pos + 1
      skip()
      if s:sub(pos, pos) == "}" then pos = pos + 1 return t end
      while true do
        skip()
        if s:sub(pos, pos) ~= '"' then bad("expected a key") end
        local k = str()
        skip()
        if s:sub(pos, pos) ~= ":" then bad("expected ':'") end
        pos = pos + 1
        t[k] = value()
        skip()
        c = s:sub(pos, pos)
        pos = pos + 1
        if c == "}" then return t end
        if c ~= "," then bad("expected ',' or '}'") end
      end
    elseif c == "[" then
      local t = {}
      pos = pos + 1
      skip()
      if s:sub(pos, pos) == "]" then pos = pos + 1 return t end
      while true do
        t[#t + 1] = value()
        skip()
        c = s:sub(pos, pos)
        pos = pos + 1
        if c == "]" then return t end
        if c ~= "," then bad("expected ',' or ']'") end
      end
    elseif c == '"' then
      return str()
    elseif s:sub(pos, pos + 3) == "true" then pos = pos + 4 return true
    elseif s:sub(pos, pos + 4) == "false" then pos = pos + 5 return false
    elseif s:sub(pos, pos + 3) == "null" then pos = pos + 4 return ward.null
    else
      local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      if not num or num == "" then bad("unexpected character") end
      pos = pos + #num
      return math.tointeger(tonumber(num)) or tonumber(num)
    end
  end
  local v = value()
  skip()
  if pos <= #s then bad("trailing data") end
  return v
end

ward.encode = function(v) local out = {} encode(v, out) return table.concat(out) end
ward.decode = decode

-- ---- calls -----------------------------------------------------------------

local fd, next_id = nil, 0

local function channel()
  if not fd then
    fd = tonumber(os.getenv("WARD_CHANNEL_FD") or "")
    if not fd then fail("no-channel", "WARD_CHANNEL_FD is not set: this box has no host functions") end
  end
  return fd
end

function ward.call(name, ...)
  local f = channel()
  next_id = next_id + 1
  local args = table.pack(...)
  local list = {}
  for i = 1, args.n do list[i] = args[i] == nil and ward.null or args[i] end
  local out = {'{"id":', tostring(next_id), ',"fn":'}
  encode(tostring(name), out)
  out[#out + 1] = ',"args":'
  if args.n == 0 then out[#out + 1] = "[]" else encode(list, out) end
  out[#out + 1] = "}"
  local body = table.concat(out)
  local ok, err = core.write(f, string.pack(">I4", #body) .. body)
  if not ok then fail("closed", "cannot write to the channel: " .. err) end
  local h, e1 = core.read(f, 4)
  if not h then fail("closed", e1) end
  local reply, e2 = core.read(f, (string.unpack(">I4", h)))
  if not reply then fail("closed", e2) end
  local r = decode(reply)
  if r.error and r.error ~= ward.null then fail(r.error.code, r.error.message) end
  if r.result == nil then return ward.null end
  return r.result
end

ward.fn = setmetatable({}, {__index = function(_, name)
  return function(...) return ward.call(name, ...) end
end})

return ward
