"""Benchmark: what validating an answer and parsing a stream cost, next to one run call.

The figures are ratios measured in one run, side by side, since these machines are shared and
noisy: validating one recorded debug answer and parsing one recorded stream must each cost under
1 % of the median run call against the local Langflow.

    flowprobe up && set -a && . .flowprobe/target.env && set +a
    python benchmarks/parse_and_validate.py
"""

from __future__ import annotations

import json
import statistics
import time
import timeit
from pathlib import Path

import yaml

from flowprobe import contracts
from flowprobe.settings import load_settings
from flowprobe.target import Target
from flowprobe.wire.client import RunClient, run_body
from flowprobe.wire.stream import parse_all

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"


def recorded_body(cassette: str, stream: bool) -> bytes:
    data = yaml.safe_load((CASSETTES / cassette).read_text(encoding="utf-8"))
    for interaction in data["interactions"]:
        if ("stream=true" in interaction["request"]["uri"]) == stream:
            body = interaction["response"]["body"]["string"]
            return body.encode() if isinstance(body, str) else bytes(body)
    raise SystemExit(f"no {'streaming' if stream else 'plain'} answer in {cassette}")


def median_seconds(action: object, number: int) -> float:
    timer = timeit.Timer(action)  # type: ignore[arg-type]
    return statistics.median(t / number for t in timer.repeat(repeat=7, number=number))


def main() -> None:
    debug = json.loads(
        recorded_body(
            "test_shape/test_answer_obeys_the_run_response_contract[uuid-chat-debug].yaml",
            stream=False,
        )
    )
    stream = recorded_body("test_streaming/test_tokens_joined_equal_the_final_text.yaml", True)
    contracts.check("run-response", debug)  # warm the validator cache
    validate = median_seconds(lambda: contracts.violations("run-response", debug), 50)
    parse = median_seconds(lambda: parse_all(stream), 200)
    target = Target.from_settings(load_settings())
    with RunClient(target) as client:
        client.run(run_body(output_type="debug"))  # warm-up
        calls = []
        for _ in range(20):
            started = time.perf_counter()
            client.run(run_body(output_type="debug"))
            calls.append(time.perf_counter() - started)
    run_call = statistics.median(calls)
    print(f"run call (debug, median of 20)  {run_call * 1000:9.2f} ms   1.000")
    print(f"validate one debug answer      {validate * 1000:9.3f} ms   {validate / run_call:.4f}")
    print(
        f"parse one recorded stream      {parse * 1000:9.3f} ms   {parse / run_call:.4f}"
        f"   ({len(stream)} bytes)"
    )
    worst = max(validate, parse) / run_call
    print(f"{'PASS' if worst < 0.01 else 'FAIL'}: worst ratio {worst:.2%} (limit 1 %)")


if __name__ == "__main__":
    main()
