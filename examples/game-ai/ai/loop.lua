-- Thinks forever: loses every turn to the wall-time limit.
while true do end
