"""Benchmark: non-streaming end-to-end as flowprobe's locust user measures it, against an
independent client (httpx, one call at a time) on the same endpoint, in one run, side by side.

    flowprobe up && set -a && . .flowprobe/target.env && set +a
    FLOWPROBE_FLOW=flowprobe-no-model python loadtests/bench/e2e_accuracy.py [--seconds 40]
    python loadtests/bench/e2e_accuracy.py --fake-delay-ms 100   # a deterministic server

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

from flowprobe.load.command import LocustRun
from flowprobe.settings import load_settings
from flowprobe.target import Target
from flowprobe.wire.client import run_body

LOCUSTFILE = Path(__file__).resolve().parent / "bench_locustfile.py"
FAKE = Path(__file__).resolve().parents[2] / "tests" / "load" / "langflow_fake.py"


def locust_median(seconds: int, folder: Path) -> tuple[float, int]:
    raw = folder / "raw.json"
    env = dict(os.environ, FLOWPROBE_BENCH_OUT=str(raw), FLOWPROBE_LOAD_VALIDATE_EVERY="0")
    command = LocustRun(
        locustfiles=[LOCUSTFILE],
        user_classes=["PacedRunUser"],
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
    return float(samples["call_p50_ms"]), int(samples["call_count"])


def independent_median(target: Target, seconds: int) -> tuple[float, int]:
    url = target.run_url(stream=False)
    # The same body the locust user sends: its default input and a session of its own.
    body = run_body(input_value="hello", session_id=f"flowprobe-bench-{random.getrandbits(32)}")
    samples = []
    with httpx.Client(timeout=60, headers=target.auth_headers()) as client:
        client.post(url, json=body)  # warm-up: the connection is open before timing
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            answer = client.post(url, json=body)
            samples.append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
            time.sleep(random.uniform(0.5, 1.0))
    return statistics.median(samples), len(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=40, help="in all, for each client")
    parser.add_argument("--rounds", type=int, default=2, help="ABBA rounds")
    parser.add_argument(
        "--fake-delay-ms",
        type=float,
        default=None,
        help="measure against tests/load's fake Langflow with this fixed delay "
        "(a deterministic server) instead of the configured target",
    )
    args = parser.parse_args()
    fake = None
    if args.fake_delay_ms is not None:
        fake = subprocess.Popen(
            [
                sys.executable,
                str(FAKE),
                "--first-token-delay-ms",
                str(args.fake_delay_ms),
                "--tokens",
                "1",
                "--lifetime",
                str(5 * args.seconds + 60),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert fake.stdout is not None
        os.environ.update(
            FLOWPROBE_BASE_URL=fake.stdout.readline().strip(),
            FLOWPROBE_FLOW="bench",
            FLOWPROBE_API_KEY="bench-key",
        )
    try:
        compare(args)
    finally:
        if fake is not None:
            fake.terminate()
            fake.wait(timeout=10)


def compare(args: argparse.Namespace) -> None:
    target = Target.from_settings(load_settings())
    # Rounds in ABBA order, so a server that drifts over the run favours neither side.
    independent_runs: list[tuple[float, int]] = []
    measured_runs: list[tuple[float, int]] = []
    segment = max(args.seconds // (2 * args.rounds), 5)
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="flowprobe-e2e-") as folder:
            measured_runs.append(locust_median(segment, Path(folder)))
        independent_runs.append(independent_median(target, segment))
        independent_runs.append(independent_median(target, segment))
        with tempfile.TemporaryDirectory(prefix="flowprobe-e2e-") as folder:
            measured_runs.append(locust_median(segment, Path(folder)))
    measured = statistics.median(m for m, _ in measured_runs)
    independent = statistics.median(m for m, _ in independent_runs)
    ratio = measured / independent
    print(f"non-streaming end-to-end, p50, {target.describe()}")
    for label, runs, value in (
        ("independent httpx client", independent_runs, independent),
        ("flowprobe RunUser (locust)", measured_runs, measured),
    ):
        calls = sum(n for _, n in runs)
        shown = " ".join(f"{m:.1f}" for m, _ in runs)
        print(f"   {label:28}{value:>10.1f} ms  ({calls} calls; segments {shown})")
    # The independent client's own segments show how far the server moves between segments:
    # a gap smaller than that is noise, whatever the verdict says.
    own = [m for m, _ in independent_runs]
    print(f"   independent client's own segment spread: {max(own) / min(own) - 1:.1%}")
    verdict = "PASS" if abs(ratio - 1) <= 0.05 else "FAIL"
    print(f"   ratio {ratio:.3f} (target within 5 %): {verdict}")


if __name__ == "__main__":
    main()
