-- wrk script: each request takes the next request target from the file named by $BENCH_PATHS
-- (one per line), round robin. Used for the three-node runs so that every request is a separate
-- key lookup (no two in-flight requests share a key, so nothing is coalesced).
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  if #line > 0 then paths[#paths + 1] = line end
end
local i = 0
request = function()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
