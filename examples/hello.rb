# Totals of an order read as JSON from standard input, written as JSON.
#
#     echo '{"items":[{"name":"tea","qty":2,"cents":350}]}' | ward run -- ruby examples/hello.rb
#
# Lines are sorted by their total, largest first (ties by name).
require 'json'

order = JSON.parse($stdin.read)
lines = order.fetch('items').map do |item|
  { 'name' => item.fetch('name'), 'total' => item.fetch('qty') * item.fetch('cents') }
end
lines.sort_by! { |l| [-l['total'], l['name']] }
puts JSON.generate({ 'lines' => lines, 'total' => lines.sum { |l| l['total'] } })
