"""Benchmark: non-streaming end-to-end as flowprobe's locust user measures it, against an
independent client (httpx, one call at a time) on the same endpoint, in one run, side by side.

    flowprobe up && set -a && . .flowprobe/target.env && set +a
    FLOWPROBE_FLOW=flowprobe-no-model python loadtests/bench/e2e_accuracy.py [--seconds 20]

Both take turns against the same target with one caller and the same think time (0.5-1 s), so
the server sees the same load. Target: the medians agree within 5 %.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from flowprobe.client import run_body
from flowprobe.settings import load_settings
from flowprobe.target import Target

LOCUSTFILE = Path(__file__).resolve().parents[1] / "locustfile.py"


def locust_median(seconds: int, folder: Path) -> tuple[float, int]:
    summary = folder / "summary.json"
    env = dict(os.environ, FLOWPROBE_LOAD_SUMMARY=str(summary), FLOWPROBE_LOAD_WARMUP="1")
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        "1",
        "-r",
        "1",
        "-t",
        f"{seconds}s",
        "--only-summary",
        "--loglevel",
        "ERROR",
        "RunClosedLoop",
    ]
    subprocess.run(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=seconds + 60,
        check=False,
    )
    report = json.loads(summary.read_text(encoding="utf-8"))
    end_to_end = report["metrics_ms"].get("end_to_end") or next(iter(report["calls"].values()))
    return float(end_to_end["p50"]), int(report["requests"])


def independent_median(target: Target, seconds: int) -> tuple[float, int]:
    url = target.run_url(stream=False)
    samples = []
    with httpx.Client(timeout=60, headers=target.auth_headers()) as client:
        client.post(url, json=run_body())  # warm-up, as locust's is excluded
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            answer = client.post(url, json=run_body())
            samples.append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
            time.sleep(random.uniform(0.5, 1.0))
    return statistics.median(samples), len(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    target = Target.from_settings(load_settings())
    with tempfile.TemporaryDirectory(prefix="flowprobe-e2e-") as folder:
        measured, calls = locust_median(args.seconds, Path(folder))
    independent, samples = independent_median(target, args.seconds)
    ratio = measured / independent
    print(f"non-streaming end-to-end, p50, {target.describe()}")
    print(f"   {'independent httpx client':28}{independent:>10.1f} ms  ({samples} calls)")
    print(f"   {'flowprobe RunUser (locust)':28}{measured:>10.1f} ms  ({calls} calls)")
    verdict = "PASS" if abs(ratio - 1) <= 0.05 else "FAIL"
    print(f"   ratio {ratio:.3f} (target within 5 %): {verdict}")


if __name__ == "__main__":
    main()
