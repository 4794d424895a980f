-- The five most frequent words of standard input, with string and table work.
--
--     ward run -- lua5.4 examples/hello.lua < some.txt
--
-- Prints "COUNT WORD" lines (ties in alphabetical order), then the total.
local counts, total = {}, 0
for word in io.read("a"):lower():gmatch("%a+") do
  counts[word] = (counts[word] or 0) + 1
  total = total + 1
end
local words = {}
for w in pairs(counts) do words[#words + 1] = w end
table.sort(words, function(a, b)
  if counts[a] ~= counts[b] then return counts[a] > counts[b] end
  return a < b
end)
for i = 1, math.min(5, #words) do
  print(string.format("%d %s", counts[words[i]], words[i]))
end
print(string.format("total %d", total))
