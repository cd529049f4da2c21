"""Benchmark: the local Langflow's knee on SQLite with one worker against PostgreSQL with two,
side by side in one run, and whether each survives the overload that wedges SQLite.

    python benchmarks/knee_database.py [--step-time 10s] [--max 32] [--overload-s 20]

For each candidate in turn (never both at once: they would share this machine's cores), in a
folder of its own: `flowprobe up --database D --workers N` on its own ports, a closed-loop
`flowprobe sweep` (1, 2, 4, ... users) on the flow with no model (non-streaming) and on the
basic-prompting flow (streaming), then the overload: many streaming calls at once, each cut
after its first bytes, for --overload-s seconds; then one plain run call, which a wedged target
answers with a 500 ("database is locked") after ~30 s or not at all. Then `flowprobe down`.
Only loopback is used; every run is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

CANDIDATES = (
    ("SQLite, 1 worker", "sqlite", 1, 8300),
    ("PostgreSQL, 2 workers", "postgres", 2, 8310),
)
FLOWS = (
    ("no model, run", "FLOWPROBE_NO_MODEL_FLOW", "run"),
    ("basic, stream", "FLOWPROBE_FLOW", "stream"),
)


def flowprobe(args: list[str], folder: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowprobe", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def target_env(folder: Path) -> dict[str, str]:
    values = {}
    for line in (folder / ".flowprobe" / "target.env").read_text(encoding="utf-8").splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            values[name] = value.strip("'\"")
    return values


def sweep(folder: Path, env: dict[str, str], flow: str, scenario: str, args: Any) -> dict[str, Any]:
    out = folder / f"sweep-{scenario}"
    answer = flowprobe(
        [
            "sweep",
            "--scenario",
            scenario,
            "--mode",
            "users",
            "--max",
            str(args.max),
            "-t",
            args.step_time,
            "--flow",
            flow,
            "--target-env",
            str(folder / ".flowprobe" / "target.env"),
            "--out",
            str(out),
        ],
        folder,
        timeout=60 * 30,
    )
    if not (out / "sweep.json").exists():
        return {"verdict": f"no sweep ({answer.returncode}): {answer.stderr[-300:]}"}
    return json.loads((out / "sweep.json").read_text(encoding="utf-8"))


def overload(env: dict[str, str], seconds: float, callers: int) -> str:
    """Streams cut after their first bytes, from ``callers`` threads at once; then one call."""
    url = f"{env['FLOWPROBE_BASE_URL']}/api/v1/run/{env['FLOWPROBE_FLOW']}?stream=true"
    headers = {"x-api-key": env["FLOWPROBE_API_KEY"]}
    deadline = time.monotonic() + seconds
    cut = [0]

    def caller() -> None:
        with httpx.Client(timeout=10, headers=headers) as client:
            while time.monotonic() < deadline:
                try:
                    with client.stream("POST", url, json={"input_value": "hello"}) as answer:
                        next(answer.iter_raw(), None)
                        cut[0] += 1
                except (httpx.HTTPError, StopIteration):
                    pass

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 30)
    probe = f"{env['FLOWPROBE_BASE_URL']}/api/v1/run/{env['FLOWPROBE_NO_MODEL_FLOW']}?stream=false"
    started = time.monotonic()
    try:
        answer = httpx.post(
            probe, json={"input_value": "still alive?"}, headers=headers, timeout=60
        )
    except httpx.HTTPError as exc:
        return f"{cut[0]} streams cut; then no answer in 60 s ({type(exc).__name__}): wedged"
    took = time.monotonic() - started
    if answer.status_code == 200:
        return (
            f"{cut[0]} streams cut; then a run call answered 200 in {took:.1f} s: still runs flows"
        )
    locked = "database is locked" in answer.text
    return (
        f"{cut[0]} streams cut; then a run call answered {answer.status_code} in {took:.1f} s"
        + (": wedged (database is locked)" if locked else "")
    )


def candidate(label: str, database: str, workers: int, port: int, args: Any) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"flowprobe-knee-{database}-"))
    folder.chmod(0o755)  # under root, PostgreSQL runs as nobody, who must reach its data here
    print(f"--- {label}: up in {folder}", flush=True)
    up = [
        "up",
        "--database",
        database,
        "--workers",
        str(workers),
        "--port",
        str(port),
        "--stub-port",
        str(port + 1),
    ]
    started = flowprobe(up, folder, timeout=1800)
    if started.returncode != 0:
        return {"label": label, "error": started.stderr[-600:]}
    result: dict[str, Any] = {"label": label, "sweeps": {}}
    try:
        env = {**os.environ, **target_env(folder)}
        for name, variable, scenario in FLOWS:
            print(f"    sweep {name}", flush=True)
            result["sweeps"][name] = sweep(folder, env, env[variable], scenario, args)
        print("    overload", flush=True)
        result["overload"] = overload(env, args.overload_s, args.overload_callers)
    finally:
        flowprobe(["down", "--port", str(port), "--stub-port", str(port + 1)], folder, 120)
    return result


def knee_cell(sweep_json: dict[str, Any]) -> str:
    knee = sweep_json.get("knee")
    steps = sweep_json.get("steps", [])
    best = max((step["goodput_per_s"] for step in steps), default=0.0)
    if knee is None:
        return f"{sweep_json.get('verdict', '?')} (best goodput {best:.2f}/s)"
    latency = knee.get("ttft_p50_ms") or knee.get("e2e_p50_ms")
    return (
        f"{knee['level']:g} users, {knee['goodput_per_s']:.2f} good calls/s, "
        f"p50 {latency} ms (best {best:.2f}/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--step-time", default="10s")
    parser.add_argument("--max", type=int, default=32, help="the most users a sweep tries")
    parser.add_argument("--overload-s", type=float, default=20.0)
    parser.add_argument("--overload-callers", type=int, default=32)
    args = parser.parse_args()
    results = [candidate(*spec, args) for spec in CANDIDATES]
    print()
    for result in results:
        print(f"{result['label']}")
        if "error" in result:
            print(f"   did not start: {result['error']}")
            continue
        for name, sweep_json in result["sweeps"].items():
            print(f"   knee, {name:16} {knee_cell(sweep_json)}")
            for step in sweep_json.get("steps", []):
                print(
                    f"      {step['level']:>4g} users: {step['calls_per_s']:6.2f} calls/s, "
                    f"goodput {step['goodput_per_s']:6.2f}/s, errors {step['error_rate']:.1%}, "
                    f"e2e p50 {step['e2e_p50_ms']} ms"
                )
        print(f"   overload: {result['overload']}")


if __name__ == "__main__":
    main()
