"""Benchmarks of the load generator itself (not timed tests); prints ratios side by side.

    python loadtests/bench/run_bench.py [--seconds 10] [--users 10]

1. Generator efficiency: requests/s and generator CPU per request of StreamingRunUser (parses
   every event, times every token) against a bare FastHttpUser reading the same zero-delay
   stream whole. Target: >= 0.9x the bare requests/s.
2. TTFT accuracy: median time to first token with a known injected first-token delay, minus
   the no-delay baseline, against the injected delay. Target: within 2 ms.

Both use the fake Langflow of tests/load (Langflow's framing), in its own process so it does
not share the generator's CPU. Every process is bounded in time and stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from flowprobe.load.command import LocustRun

ROOT = Path(__file__).resolve().parents[2]
FAKE = ROOT / "tests" / "load" / "langflow_fake.py"
LOCUSTFILE = Path(__file__).resolve().parent / "bench_locustfile.py"


def start_fake(first_token_delay_ms: float, lifetime: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            str(FAKE),
            "--first-token-delay-ms",
            str(first_token_delay_ms),
            "--tokens",
            "8",
            "--lifetime",
            str(lifetime),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def run_locust(base_url: str, user: str, users: int, seconds: int, out: Path) -> dict[str, Any]:
    env = dict(
        os.environ,
        FLOWPROBE_BASE_URL=base_url,
        FLOWPROBE_FLOW="bench",
        FLOWPROBE_API_KEY="bench-key",
        FLOWPROBE_LOAD_VALIDATE_EVERY="0",
        FLOWPROBE_LOAD_SUMMARY=str(out / f"{user}_summary.json"),
        FLOWPROBE_BENCH_OUT=str(out / f"{user}_raw.json"),
    )
    env.pop("FLOWPROBE_LOAD_WORKERS", None)
    command = LocustRun(
        locustfiles=[LOCUSTFILE],
        user_classes=[user],
        users=users,
        run_time_s=seconds,
        host=base_url,
        loglevel="ERROR",
    ).command()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    watched = psutil.Process(process.pid)
    cpu = 0.0
    while process.poll() is None:
        try:
            times = watched.cpu_times()
            cpu = times.user + times.system
        except psutil.Error:
            break
        time.sleep(0.2)
    process.wait(timeout=seconds + 30)
    summary = json.loads((out / f"{user}_summary.json").read_text())
    raw = json.loads((out / f"{user}_raw.json").read_text())
    return {
        "rps": summary["requests_per_s"],
        "requests": summary["requests"],
        "failures": summary["failures"],
        "cpu_s": cpu,
        "cpu_ms_per_request": 1000 * cpu / max(summary["requests"], 1),
        **raw,
    }


def efficiency(users: int, seconds: int, out: Path) -> None:
    fake, url = start_fake(0.0, lifetime=3 * seconds + 30)
    try:
        bare = run_locust(url, "BareStreamUser", users, seconds, out)
        parsing = run_locust(url, "ParsingStreamUser", users, seconds, out)
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    print(f"1. generator efficiency ({users} users, {seconds} s each, zero-delay fake stream)")
    print(f"   {'':28}{'bare FastHttpUser':>20}{'StreamingRunUser':>20}{'ratio':>8}")
    for key, label in (("rps", "requests/s"), ("cpu_ms_per_request", "generator CPU ms/req")):
        ratio = parsing[key] / bare[key] if bare[key] else float("nan")
        print(f"   {label:28}{bare[key]:>20.2f}{parsing[key]:>20.2f}{ratio:>8.2f}")
    print(f"   failures: bare {bare['failures']}, streaming {parsing['failures']}")
    verdict = "PASS" if parsing["rps"] >= 0.9 * bare["rps"] else "FAIL"
    print(f"   target >= 0.90x bare requests/s: {verdict}")


def ttft_accuracy(delay_ms: float, seconds: int, out: Path) -> None:
    medians = {}
    for injected in (0.0, delay_ms):
        fake, url = start_fake(injected, lifetime=seconds + 30)
        try:
            medians[injected] = run_locust(url, "ParsingStreamUser", 1, seconds, out)
        finally:
            fake.terminate()
            fake.wait(timeout=10)
    base, delayed = medians[0.0], medians[delay_ms]
    error = delayed["ttft_p50_ms"] - base["ttft_p50_ms"] - delay_ms
    print(f"2. TTFT accuracy (1 user, {seconds} s each, raw samples)")
    print(f"   {'injected first-token delay':28}{'0 ms':>20}{f'{delay_ms:.0f} ms':>20}")
    print(
        f"   {'p50 TTFT measured (ms)':28}{base['ttft_p50_ms']:>20.3f}"
        f"{delayed['ttft_p50_ms']:>20.3f}"
    )
    print(f"   {'samples':28}{base['ttft_count']:>20}{delayed['ttft_count']:>20}")
    verdict = "PASS" if abs(error) <= 2.0 else "FAIL"
    print(f"   measured - baseline - injected = {error:+.3f} ms (target within 2 ms): {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flowprobe-bench-") as folder:
        efficiency(args.users, args.seconds, Path(folder))
        ttft_accuracy(args.delay_ms, args.seconds, Path(folder))


if __name__ == "__main__":
    main()
