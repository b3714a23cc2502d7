//! The benchmarks' timing rule, shared by `examples/bench.rs` and `examples/bench_flows.rs` (and
//! by `scripts/bench_timing.py` for the Python sides): one warm-up call, then at least 3
//! repetitions and until 2 s have passed or `max_reps` is reached; one JSON line per workload.

use anyhow::Result;
use std::time::Instant;

/// Times `f` and prints `{"impl": "rust", "workload", "size", "median_s", "min_s", "max_s", "reps"}`.
pub fn time(workload: &str, size: &str, max_reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<()> {
    f()?;
    let mut times = vec![];
    let start = Instant::now();
    while times.len() < 3 || (times.len() < max_reps && start.elapsed().as_secs_f64() < 2.0) {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = times[times.len() / 2];
    println!(
        "{{\"impl\": \"rust\", \"workload\": \"{workload}\", \"size\": \"{size}\", \"median_s\": {median:e}, \"min_s\": {:e}, \"max_s\": {:e}, \"reps\": {}}}",
        times[0],
        times[times.len() - 1],
        times.len()
    );
    Ok(())
}
