"""Central's min-cost assignment beside SciPy's linear_sum_assignment.

For each size the Rust side writes one seeded matrix file; each solver then
runs in its own fresh process on that file (so each peak RSS is its own),
times only the solve, and reports the optimal total. Both totals must agree.
The two alternate for ROUNDS rounds; the figure is the fastest solve of all
rounds (on a shared machine the minimum is the least disturbed measure),
with the median beside it.
Run through pairing_vs_scipy.sh, which sets up numpy and scipy.
"""

import argparse
import json
import os
import subprocess
import sys
import time


ROUNDS = 3


def reps_for(rows, cols):
    n = max(rows, cols)
    if n <= 100:
        return 200
    if n <= 500:
        return 20
    if n <= 1000:
        return 3
    return 1


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def solve_here(path, reps):
    """The SciPy side, in this (fresh) process."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    header = np.fromfile(path, dtype="<u8", count=3)
    rows, cols = int(header[1]), int(header[2])
    cost = np.fromfile(path, dtype="<f8", offset=24).reshape(rows, cols)
    linear_sum_assignment(cost[:2, :2])  # loads the compiled module first
    rss_before = status_kib("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    seconds = []
    total = 0.0
    for _ in range(reps):
        started = time.perf_counter()
        r, c = linear_sum_assignment(cost)
        seconds.append(time.perf_counter() - started)
        total = float(cost[r, c].sum())
    peak = status_kib("VmHWM")
    seconds.sort()
    mid = len(seconds) // 2
    median = seconds[mid] if len(seconds) % 2 else (seconds[mid - 1] + seconds[mid]) / 2
    print(json.dumps({
        "solver": "scipy",
        "rows": rows,
        "cols": cols,
        "reps": reps,
        "seconds_median": median,
        "seconds_min": seconds[0],
        "rss_before_kib": rss_before,
        "peak_kib": peak,
        "peak_extra_kib": peak - rss_before if reset else -1,
        "total_cost": total,
    }))


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", help="the pairing_engine binary")
    parser.add_argument("--work", help="directory for the matrix files")
    parser.add_argument("--sizes", default="16x19,100x100,1000x1000")
    parser.add_argument("--solve", help="(internal) solve this file with SciPy")
    parser.add_argument("--reps", type=int, default=1)
    args = parser.parse_args()
    if args.solve:
        solve_here(args.solve, args.reps)
        return
    import numpy
    import scipy

    print("# pairing engine: central::pairing::min_cost_assignment_flat vs "
          "scipy.optimize.linear_sum_assignment")
    print(subprocess.run([args.bin, "machine"], check=True, capture_output=True,
                         text=True).stdout.strip())
    print(f"python {sys.version.split()[0]}, numpy {numpy.__version__}, scipy {scipy.__version__}")
    print(f"dense costs uniform in [0, 1000), seed 1; {ROUNDS} alternating rounds; time of the "
          "solve only, microseconds: fastest and median; peak: VmHWM during the solves minus VmRSS "
          "before them (the matrix is already loaded)")
    print()
    head = (f"{'size':>11} | {'reps':>4} | {'central min':>12} {'median':>12} | "
            f"{'scipy min':>12} {'median':>12} | {'central/scipy':>13} | {'central KiB':>11} | "
            f"{'scipy KiB':>9} | {'same optimum':>12} | load avg")
    print(head)
    print("-" * len(head))
    worst = 0.0
    for size in args.sizes.split(","):
        rows, cols = (int(x) for x in size.lower().split("x"))
        path = os.path.join(args.work, f"m{rows}x{cols}.bin")
        subprocess.run([args.bin, "write", "--rows", str(rows), "--cols", str(cols),
                        "--seed", "1", "--out", path], check=True)
        reps = reps_for(rows, cols)
        ours_runs, theirs_runs = [], []
        for _ in range(ROUNDS):
            ours_runs.append(run_json([args.bin, "solve", path, "--reps", str(reps)]))
            theirs_runs.append(run_json([sys.executable, __file__, "--solve", path,
                                         "--reps", str(reps)]))
        ours, theirs = ours_runs[0], theirs_runs[0]
        fastest = lambda runs: min(r["seconds_min"] for r in runs)
        middle = lambda runs: sorted(r["seconds_median"] for r in runs)[len(runs) // 2]
        peak = lambda runs: max(r["peak_extra_kib"] for r in runs)
        a, b = ours["total_cost"], theirs["total_cost"]
        same = all(abs(r["total_cost"] - b) <= 1e-9 * max(1.0, abs(b))
                   for r in ours_runs + theirs_runs)
        ratio = fastest(ours_runs) / fastest(theirs_runs)
        worst = max(worst, ratio)
        kib = lambda k: f"{k}" if k >= 0 else "n/a"
        print(f"{rows:>5}x{cols:<5} | {reps * ROUNDS:>4} | {fastest(ours_runs) * 1e6:>12.1f} "
              f"{middle(ours_runs) * 1e6:>12.1f} | {fastest(theirs_runs) * 1e6:>12.1f} "
              f"{middle(theirs_runs) * 1e6:>12.1f} | {ratio:>13.2f} | {kib(peak(ours_runs)):>11} | "
              f"{kib(peak(theirs_runs)):>9} | {('yes' if same else f'NO {a} vs {b}'):>12} | "
              f"{loadavg()}", flush=True)
        os.remove(path)
    print()
    verdict = "met" if worst <= 1.0 else "MISSED"
    print(f"worst central/scipy ratio of fastest solves {worst:.2f} (target <= 1.00: {verdict})")
    print(f"load average at end: {loadavg()}")


if __name__ == "__main__":
    main()
