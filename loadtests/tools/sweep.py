"""Raise the offered load step by step until the SLOs break; report the knee and its goodput.

    python loadtests/tools/sweep.py --rates 0.5,1,2,3,4 --seconds 15 [--pool 8] [--scenario stream]

Each step is a bounded open-loop run (``StreamOpenLoop`` or ``RunOpenLoop``) at one arrival
rate against the configured target (FLOWPROBE_* environment). The knee is the highest rate whose
run is valid (missed arrivals and generator CPU within limits), whose error rate is within
FLOWPROBE_LOAD_MAX_ERROR_RATE, and whose p95 time to first token and p95 end-to-end meet
FLOWPROBE_LOAD_SLO_TTFT_P95_MS and FLOWPROBE_LOAD_SLO_E2E_P95_MS. Goodput is the calls per second
that succeeded within both SLOs. The sweep stops at the first step past the knee.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from flowprobe.load.command import LocustRun

LOADTESTS = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "stream": ("streaming_open_loop.py", "StreamOpenLoop"),
    "run": ("run_open_loop.py", "RunOpenLoop"),
}


def run_step(rate: float, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    locustfile, user = SCENARIOS[args.scenario]
    summary_path = out / f"rate-{rate}.json"
    env = dict(
        os.environ,
        FLOWPROBE_LOAD_ARRIVAL_RATE=str(rate),
        FLOWPROBE_LOAD_SUMMARY=str(summary_path),
        FLOWPROBE_LOAD_WARMUP=str(args.warmup),
    )
    command = LocustRun(
        locustfiles=[LOADTESTS / locustfile],
        user_classes=[user],
        users=args.pool,
        run_time_s=args.seconds,
        loglevel="ERROR",
    ).command()
    subprocess.run(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=args.seconds + 60,
        check=False,
    )
    summary: dict[str, Any] = json.loads(summary_path.read_text())
    return summary


def holds(summary: dict[str, Any]) -> bool:
    return bool(summary["passed"] and summary["slo"]["met"])


def p95(summary: dict[str, Any], name: str) -> Any:
    return summary["metrics_ms"].get(name, {}).get("p95")


def write_outputs(
    args: argparse.Namespace, steps: list[dict[str, Any]], knee: float | None
) -> None:
    """sweep.json (every step's summary) and sweep.png (throughput and latency, knee marked)."""
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"scenario": args.scenario, "knee_rate": knee, "steps": steps}
    (args.out / "sweep.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        print("no plot: matplotlib is missing; install it with pip install 'flowprobe[plot]'")
        return
    rates = [step["rate"] for step in steps]
    figure, (throughput, latency) = pyplot.subplots(2, 1, sharex=True, figsize=(7, 6))
    throughput.plot(rates, [s["summary"]["requests_per_s"] for s in steps], "o-", label="calls/s")
    throughput.plot(rates, [s["summary"]["goodput_per_s"] for s in steps], "s--", label="goodput/s")
    throughput.set_ylabel("per second")
    for metric in ("time_to_first_token", "end_to_end"):
        values = [p95(s["summary"], metric) for s in steps]
        if any(v is not None for v in values):
            latency.plot(
                rates,
                [v if v is not None else float("nan") for v in values],
                "o-",
                label=f"p95 {metric.replace('_', ' ')}",
            )
    latency.set_ylabel("ms")
    latency.set_xlabel("offered load (arrivals/s)")
    for axes in (throughput, latency):
        if knee is not None:
            axes.axvline(knee, color="red", linestyle=":", label=f"knee {knee:g}/s")
        axes.legend()
        axes.grid(alpha=0.3)
    figure.suptitle(f"flowprobe sweep: {args.scenario}")
    figure.savefig(args.out / "sweep.png", dpi=100)
    print(f"wrote {args.out / 'sweep.json'} and {args.out / 'sweep.png'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", default="0.5,1,2,3,4", help="arrivals/s, ascending")
    parser.add_argument("--seconds", type=int, default=15, help="per step (bounded: <= 300)")
    parser.add_argument("--pool", type=int, default=8, help="users available to take slots")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="stream")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("reports/sweep"),
        help="folder for sweep.json and sweep.png",
    )
    args = parser.parse_args()
    args.seconds = min(args.seconds, 300)
    rates = [float(r) for r in args.rates.split(",")][:12]
    print(
        f"{'rate/s':>7} {'req/s':>7} {'goodput/s':>9} {'p95 ttft':>9} {'p95 e2e':>8} "
        f"{'errors':>7} {'missed':>7}  verdict"
    )
    knee = None
    steps: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="flowprobe-sweep-") as folder:
        for rate in rates:
            summary = run_step(rate, args, Path(folder))
            ok = holds(summary)
            reasons = "; ".join(summary["reasons"]) or ("SLO missed" if not ok else "")
            print(
                f"{rate:>7.2f} {summary['requests_per_s']:>7.2f} {summary['goodput_per_s']:>9.2f}"
                f" {p95(summary, 'time_to_first_token')!s:>9} {p95(summary, 'end_to_end')!s:>8}"
                f" {summary['error_rate']:>7.1%} {summary['arrivals']['missed_ratio']:>7.1%}"
                f"  {'holds' if ok else 'breaks: ' + reasons}",
                flush=True,
            )
            steps.append({"rate": rate, "holds": ok, "summary": summary})
            if not ok:
                break
            knee = (rate, summary)
    write_outputs(args, steps, knee[0] if knee else None)
    if knee is None:
        print("no knee: the SLOs break at the lowest rate")
        return 1
    rate, summary = knee
    print(f"knee: {rate:g} arrivals/s, goodput {summary['goodput_per_s']:.2f} calls/s within SLO")
    return 0


if __name__ == "__main__":
    sys.exit(main())
