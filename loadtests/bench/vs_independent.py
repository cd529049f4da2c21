"""Benchmark: flowprobe's locust users against independent clients on the same live flow, in one
run, side by side (not a timed test: the ratios are what count on a shared, noisy machine).

    flowprobe up && set -a && . .flowprobe/target.env && set +a
    python loadtests/bench/vs_independent.py [--seconds 20] [--connections 4] [--rounds 2]

1. Throughput and latency against wrk: the non-streaming call (``?stream=false``) on the flow
   with no model (FLOWPROBE_NO_MODEL_FLOW, else FLOWPROBE_FLOW), C connections, no think time:
   wrk's requests/s and p50 against flowprobe's RunUser with C users. Target: within 10 %.
2. Time to first token against an independent streaming client (httpx, reading the stream line
   by line until the first ``token`` event), one caller, 0.5-1 s between calls, on FLOWPROBE_FLOW
   (a flow whose model streams): p50 side by side. Target: within 5 %.

Both sides take turns in ABBA order, so a target that drifts over the run favours neither.
Every run is bounded in time. Needs wrk on the PATH (Debian's package ``wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from flowprobe.load.command import LocustRun
from flowprobe.settings import load_settings
from flowprobe.target import Target
from flowprobe.wire.client import run_body

LOCUSTFILE = Path(__file__).resolve().parent / "bench_locustfile.py"
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def locust_run(user: str, users: int, seconds: int, flow: str, folder: Path) -> dict[str, float]:
    raw, summary = folder / f"{user}_raw.json", folder / f"{user}_summary.json"
    env = dict(
        os.environ,
        FLOWPROBE_FLOW=flow,
        FLOWPROBE_BENCH_OUT=str(raw),
        FLOWPROBE_LOAD_SUMMARY=str(summary),
        FLOWPROBE_LOAD_VALIDATE_EVERY="0",
    )
    command = LocustRun(
        locustfiles=[LOCUSTFILE],
        user_classes=[user],
        users=users,
        run_time_s=seconds,
        loglevel="ERROR",
    ).command()
    subprocess.run(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=seconds + 60,
        check=False,
    )
    samples = json.loads(raw.read_text(encoding="utf-8"))
    calls = json.loads(summary.read_text(encoding="utf-8"))
    return {
        "calls_per_s": float(calls["requests_per_s"]),
        "failures": float(calls["failures"]),
        "call_p50_ms": float(samples["call_p50_ms"] or "nan"),
        "ttft_p50_ms": float(samples["ttft_p50_ms"] or "nan"),
        "calls": float(samples["call_count"]),
        "ttft_count": float(samples["ttft_count"]),
    }


def wrk_run(target: Target, connections: int, seconds: int, folder: Path) -> dict[str, float]:
    script = folder / "post.lua"
    body = json.dumps(run_body(input_value="hello"))
    headers = "".join(
        f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n"
        for k, v in target.auth_headers().items()
    )
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n' + headers,
        encoding="utf-8",
    )
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    answer = subprocess.run(
        [*command, target.run_url(stream=False)],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    text = answer.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s|m)\b", text)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if rate is None or p50 is None:
        raise SystemExit(f"wrk gave no figures:\n{text}\n{answer.stderr}")
    return {
        "calls_per_s": float(rate.group(1)),
        "call_p50_ms": float(p50.group(1)) * _UNITS_MS[p50.group(2)],
        "failures": float(non_2xx.group(1)) if non_2xx else 0.0,
    }


def independent_ttft(target: Target, seconds: int) -> tuple[float, int]:
    url = target.run_url(stream=True)
    body = run_body(input_value="hello", session_id=f"flowprobe-bench-{random.getrandbits(32)}")
    samples: list[float] = []
    with httpx.Client(timeout=60, headers=target.auth_headers()) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            with client.stream("POST", url, json=body) as answer:
                answer.raise_for_status()
                first = None
                for line in answer.iter_lines():
                    if first is None and '"event": "token"' in line.replace('":"', '": "'):
                        first = (time.perf_counter() - started) * 1000
                if first is not None:
                    samples.append(first)
            time.sleep(random.uniform(0.5, 1.0))
    if not samples:
        raise SystemExit(f"{target.flow} sent no token event: pick a flow whose model streams")
    return statistics.median(samples), len(samples)


def _ratio(ours: float, theirs: float, bound: float) -> str:
    if not theirs > 0 or not ours > 0:
        return f"{'n/a':>8}  (a side measured nothing: is the target answering?)"
    verdict = "PASS" if abs(ours / theirs - 1) <= bound else "FAIL"
    return f"{ours / theirs:>8.3f}  (target within {bound:.0%}: {verdict})"


def versus_wrk(args: argparse.Namespace, target: Target, flow: str) -> None:
    segment = max(args.seconds // 2, 5)
    ours: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="flowprobe-wrk-") as name:
        folder = Path(name)
        for _ in range(args.rounds):
            ours.append(locust_run("BusyRunUser", args.connections, segment, flow, folder))
            theirs.append(wrk_run(target, args.connections, segment, folder))
            theirs.append(wrk_run(target, args.connections, segment, folder))
            ours.append(locust_run("BusyRunUser", args.connections, segment, flow, folder))
    print(f"1. non-streaming, {args.connections} connections, no think time, flow {flow}")
    print(f"   {'':26}{'wrk':>14}{'flowprobe':>14}{'ratio':>8}")
    for key, label in (("calls_per_s", "calls/s"), ("call_p50_ms", "p50 (ms)")):
        a = statistics.median(run[key] for run in theirs)
        b = statistics.median(run[key] for run in ours)
        print(f"   {label:26}{a:>14.2f}{b:>14.2f}{_ratio(b, a, 0.10)}")
    shown = ", ".join(f"{run['calls_per_s']:.2f}" for run in theirs)
    print(f"   wrk's own segments (calls/s): {shown}")
    print(
        f"   failures: wrk {sum(r['failures'] for r in theirs):.0f}, "
        f"flowprobe {sum(r['failures'] for r in ours):.0f}"
    )


def versus_independent_ttft(args: argparse.Namespace, target: Target) -> None:
    segment = max(args.seconds // 2, 5)
    ours: list[float] = []
    theirs: list[float] = []
    counts = [0, 0]
    with tempfile.TemporaryDirectory(prefix="flowprobe-ttft-") as name:
        folder = Path(name)
        for _ in range(args.rounds):
            run = locust_run("PacedStreamUser", 1, segment, target.flow, folder)
            ours.append(run["ttft_p50_ms"])
            counts[1] += int(run["ttft_count"])
            for _ in range(2):
                median, n = independent_ttft(target, segment)
                theirs.append(median)
                counts[0] += n
            run = locust_run("PacedStreamUser", 1, segment, target.flow, folder)
            ours.append(run["ttft_p50_ms"])
            counts[1] += int(run["ttft_count"])
    a, b = statistics.median(theirs), statistics.median(ours)
    print(f"2. time to first token, 1 caller, 0.5-1 s between calls, flow {target.flow}")
    print(f"   {'':26}{'independent':>14}{'flowprobe':>14}{'ratio':>8}")
    print(f"   {'TTFT p50 (ms)':26}{a:>14.1f}{b:>14.1f}{_ratio(b, a, 0.05)}")
    print(f"   samples: independent {counts[0]}, flowprobe {counts[1]}")
    print("   segments: independent " + ", ".join(f"{m:.1f}" for m in theirs))
    print("             flowprobe   " + ", ".join(f"{m:.1f}" for m in ours))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="per side and round")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2, help="ABBA rounds")
    parser.add_argument("--only", choices=("wrk", "ttft"), default=None)
    args = parser.parse_args()
    target = Target.from_settings(load_settings())
    if args.only in (None, "wrk"):
        if shutil.which("wrk") is None:
            raise SystemExit("wrk is not on the PATH (Debian: apt-get install wrk)")
        flow = os.environ.get("FLOWPROBE_NO_MODEL_FLOW") or target.flow
        no_model = Target.from_settings(load_settings(env={**os.environ, "FLOWPROBE_FLOW": flow}))
        versus_wrk(args, no_model, flow)
    if args.only in (None, "ttft"):
        versus_independent_ttft(args, target)


if __name__ == "__main__":
    main()
