"""Imported by the TFP-JAX benchmark scripts before JAX: limits the process to N CPUs, N the
script's first argument (default 2).

The XLA CPU client sizes its intra-op thread pool from the CPUs the process may run on, and on
jaxlib 0.6 the usual XLA_FLAGS recipe (`--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=N`) does not limit anything (measured: a jitted matmul still used
~1.9 CPU-seconds per second on 2 cores with it; the second half is not even an XLA flag). So this
restricts the process's CPU affinity (os.sched_setaffinity, as `taskset` would) to the first N
CPUs that it may use, when N is below their count: the compute then truly runs on at most N cores
(XLA keeps a few more idle helper threads). For N = 1 it also sets
--xla_cpu_multi_thread_eigen=false, harmless."""
import os
import sys

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 2
_allowed = sorted(os.sched_getaffinity(0))
if THREADS < len(_allowed):
    os.sched_setaffinity(0, _allowed[:THREADS])
if THREADS == 1:
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")
