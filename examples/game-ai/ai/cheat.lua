-- Tries to move the other player's units, teleport, and read the host's
-- files: every attempt is refused, and it moves nothing.
local ward = require("ward")
local refused = 0
for _, u in ipairs(ward.fn.units()) do
  if not u.mine and not pcall(ward.fn.move, u.id, u.x, u.y) then refused = refused + 1 end
  if u.mine and not pcall(ward.fn.move, u.id, u.x, u.goal_y) then refused = refused + 1 end
end
local f = io.open("/etc/shadow") or io.open("/root/.bashrc")
io.stderr:write("refused " .. refused .. (f and " read host file" or "") .. "\n")
