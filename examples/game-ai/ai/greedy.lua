-- Moves every unit one row towards its goal (straight, else diagonally),
-- and sideways when the way ahead is blocked.
local ward = require("ward")
for _, u in ipairs(ward.fn.units()) do
  if u.mine then
    local dy = u.goal_y > u.y and 1 or -1
    local tries = {{0, dy}, {1, dy}, {-1, dy}, {1, 0}, {-1, 0}}
    for _, d in ipairs(tries) do
      if pcall(ward.fn.move, u.id, u.x + d[1], u.y + d[2]) then break end
    end
  end
end
