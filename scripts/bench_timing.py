"""The benchmark scripts' shared timing rule: one warm-up call, then at least 3 repetitions and
until 2 s have passed or `max_reps` is reached; prints one JSON line per workload (the form
examples/bench.rs and examples/bench_flows.rs print, read by scripts/bench.sh)."""
import json
import time


def timer(impl):
    """`timed(workload, size, max_reps, f)` for implementation `impl` ("torch", "zuko", ...)."""
    def timed(workload, size, max_reps, f):
        f()
        times = []
        start = time.perf_counter()
        while len(times) < 3 or (len(times) < max_reps and time.perf_counter() - start < 2.0):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
        times.sort()
        print(json.dumps({"impl": impl, "workload": workload, "size": size, "median_s": times[len(times) // 2],
                          "min_s": times[0], "max_s": times[-1], "reps": len(times)}), flush=True)
    return timed
