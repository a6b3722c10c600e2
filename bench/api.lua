-- wrk script for bench/api.sh: every request carries a bearer token picked at random from the file
-- $TOKENS (one a line); at the end prints one line:
-- RESULT requests seconds p50_us p99_us non2xx socket_errors

local counter = 0
local threads = {}

function setup(thread)
    counter = counter + 1
    thread:set("seed", counter)
    table.insert(threads, thread)
end

local tokens = {}

function init(args)
    local path = os.getenv("TOKENS")
    if path then
        for line in io.lines(path) do
            if #line > 0 then
                tokens[#tokens + 1] = "Bearer " .. line
            end
        end
    end
    math.randomseed(os.time() * 100 + seed)
end

function request()
    if #tokens == 0 then
        return wrk.format(nil, nil)
    end
    return wrk.format(nil, nil, { ["Authorization"] = tokens[math.random(#tokens)] })
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT %d %.3f %d %d %d %d\n",
        summary.requests,
        summary.duration / 1e6,
        latency:percentile(50),
        latency:percentile(99),
        e.status,
        e.connect + e.read + e.write + e.timeout
    ))
end
