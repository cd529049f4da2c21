"""Each contract suite goes red against a server that breaks its promise.

A fault-injecting proxy (``faultproxy.py``) stands in front of the live Langflow and breaks one
promise; the relevant suite tests run against it in a subprocess, as a user would run them, and
must fail naming that promise. A control run through the same proxy with no fault passes, so the
failures come from the faults and not from the proxy. A slow first token is no contract break,
so no fault injects one.

Needs a live target: skipped unless ``FLOWPROBE_BASE_URL`` (or ``--flowprobe-base-url``) is set
and the mode is ``live``, so the default replay run of ``pytest`` skips it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from faultproxy import FaultProxy
from flowprobe.settings import Settings

SUITE_RUN_TIMEOUT = 150.0


@dataclass(frozen=True, slots=True)
class Case:
    """A fault, the suite tests that must catch it, and the promise each must name."""

    fault: str
    select: str  # pytest -k expression
    broken: dict[str, str]  # node id (or its prefix, for parametrized tests) -> failure title

    @property
    def files(self) -> list[str]:
        return sorted({node.split("::")[0] for node in self.broken})


STREAMING = "suites/test_streaming.py::"
IN_ORDER = f"{STREAMING}test_stream_records_come_in_order"
TOKENS_JOINED = f"{STREAMING}test_tokens_joined_equal_the_final_text"
TWEAKS = "suites/test_tweaks.py::"
UPLOAD = "suites/test_upload.py::"
UPLOAD_READ = f"{UPLOAD}test_an_uploaded_file_reaches_the_answer["
SAMPLE = "suites/test_samples.py::test_a_sample_prints_the_answer_through_the_path_it_reads"
CASES = (
    Case(
        "renamed-field",
        "prints_the_answer",
        {
            f"{SAMPLE}[{name}]": f"sample did not print the answer at {path}"
            for name, path in (
                ("run.sh", "outputs[0].outputs[0].results.message.text"),
                ("run_stream.sh", "result.outputs[0].outputs[0].results.message.text"),
                ("run.py", "outputs[0].outputs[0].results.message.text"),
                ("run_stream.py", "result.outputs[0].outputs[0].results.message.text"),
            )
        },
    ),
    Case(
        "renamed-output-message",
        "prints_the_answer",
        {
            f"{SAMPLE}[run.mjs]": "did not print the answer at "
            "outputs[0].outputs[0].outputs.message.message.text",
            f"{SAMPLE}[run_stream.mjs]": "did not print the answer at "
            "result.outputs[0].outputs[0].outputs.message.message.text",
        },
    ),
    Case(
        "leaked-tweak",
        "applies_to_its_call_only or applies_to_its_streamed_call_only",
        {
            f"{TWEAKS}test_a_tweak_applies_to_its_call_only[": "does not persist",
            f"{TWEAKS}test_a_tweak_applies_to_its_streamed_call_only": "does not persist",
        },
    ),
    Case(
        "renamed-field",
        "contract[uuid-chat-chat] or contract[uuid-chat]",
        {
            "suites/test_shape.py::test_answer_obeys_the_run_response_contract[uuid-chat-chat]": (
                "the answer breaks the run-response contract"
            ),
            "suites/test_shape.py::test_stream_obeys_the_stream_contract[uuid-chat]": (
                "(end) breaks the stream-event contract"
            ),
        },
    ),
    Case(
        "truncated-stream",
        "come_in_order or tokens_joined",
        {
            IN_ORDER: "a stream ends with end or error",
            TOKENS_JOINED: "a stream ends with end or error",
        },
    ),
    Case(
        "buffered-stream",
        "really_streams",
        {f"{STREAMING}test_the_stream_really_streams": "tokens arrive as they are made"},
    ),
    Case(
        "swapped-answers",
        "concurrent_callers",
        {
            f"{TWEAKS}test_tweaks_do_not_leak_between_concurrent_callers[plain]": "own tweak",
            f"{TWEAKS}test_tweaks_do_not_leak_between_concurrent_callers[streaming]": "own tweak",
        },
    ),
    Case(
        "bypassed-key",
        "without_a_valid_key",
        {
            "suites/test_auth.py::test_a_call_without_a_valid_key_is_refused[": (
                "a call without a valid key is refused"
            )
        },
    ),
    Case(
        "not-found-as-500",
        "unknown_flow",
        {"suites/test_errors.py::test_an_unknown_flow_is_404": "an unknown flow answers 404"},
    ),
    Case(
        "wrong-stream-content-type",
        "come_in_order",
        {IN_ORDER: "a stream is served as text/event-stream"},
    ),
    Case(
        "injected-error-event",
        "come_in_order",
        {IN_ORDER: "the stream reports no error"},
    ),
    Case(
        "dropped-token",
        "tokens_joined",
        {TOKENS_JOINED: "the tokens joined equal the final text"},
    ),
    Case(
        "renamed-sender",
        "answers_as_the_api_does",
        {
            "suites/test_local_runtime.py::test_the_local_runtime_answers_as_the_api_does": (
                "the local runtime and the API agree on what clients read"
            )
        },
    ),
    Case(
        "upload-without-path",
        "reaches_the_answer",
        {
            UPLOAD_READ: "the answer breaks the upload-response contract",
            f"{UPLOAD}test_the_deprecated_upload_reaches_the_answer": (
                "the answer breaks the upload-response contract"
            ),
        },
    ),
    Case(
        "emptied-upload",
        "uploaded_file_reaches",
        {UPLOAD_READ: "the uploaded file's text reaches the answer"},
    ),
    Case(
        "upload-refusal-as-500",
        "unknown_flow_is_404 or oversized or by_endpoint_name or without_a_key_is_refused",
        {
            f"{UPLOAD}test_an_upload_for_an_unknown_flow_is_404[": "unknown flow answers 404",
            f"{UPLOAD}test_an_oversized_file_is_refused_with_413": "limit answers 413",
            f"{UPLOAD}test_an_upload_by_endpoint_name_is_422[": "by UUID, else 422",
            f"{UPLOAD}test_an_upload_without_a_key_is_refused": "without a key is refused",
        },
    ),
)


@dataclass(frozen=True, slots=True)
class SuiteRun:
    exit_code: int
    output: str
    seconds: float

    def lines(self, outcome: str, node: str) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith(f"{outcome} {node}")]

    def describe(self) -> str:
        return f"exit code {self.exit_code} after {self.seconds:.1f} s; output:\n{self.output}"


@pytest.fixture(scope="module")
def live(flowprobe_settings: Settings) -> Settings:
    """The live target's settings; skips the module when there is none."""
    if not flowprobe_settings.get("base_url") or flowprobe_settings.get("mode") != "live":
        pytest.skip(
            "needs a live Langflow: set FLOWPROBE_BASE_URL, FLOWPROBE_FLOW and FLOWPROBE_API_KEY "
            "(e.g. `set -a; . .flowprobe/target.env; set +a`); the suites run through a "
            "fault-injecting proxy in front of it"
        )
    return flowprobe_settings


def _proxy(live: Settings, fault: str) -> FaultProxy:
    return FaultProxy(
        upstream=str(live.get("base_url")),
        fault=fault,
        api_key=live.get("api_key"),
        auth=str(live.get("auth")),
    )


def _run_suites(
    live: Settings, proxy: FaultProxy, files: list[str], select: str, root: Path
) -> SuiteRun:
    # The stub's URL is no setting of the suites, but the local runtime's flow file needs it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWPROBE_")}
    env.update({k: v for k, v in os.environ.items() if k == "FLOWPROBE_STUB_URL"})
    env.update({f"FLOWPROBE_{n.upper()}": str(v) for n, v in live.values.items() if v is not None})
    # A wide terminal keeps each summary line whole, failure title included.
    env.update(FLOWPROBE_BASE_URL=proxy.url, FLOWPROBE_MODE="live", COLUMNS="1000")
    command = [sys.executable, "-m", "pytest", *files, "-k", select, "-q", "-rA"]
    command += ["-p", "no:randomly", "-p", "no:cacheprovider"]
    started = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUITE_RUN_TIMEOUT,
        check=False,
    )
    output = done.stdout + done.stderr
    return SuiteRun(done.returncode, output, time.perf_counter() - started)


@pytest.mark.parametrize("case", CASES, ids=[c.fault for c in CASES])
def test_the_suite_goes_red_naming_the_broken_promise(
    live: Settings, pytestconfig: pytest.Config, case: Case
) -> None:
    with _proxy(live, case.fault) as proxy:
        run = _run_suites(live, proxy, case.files, case.select, pytestconfig.rootpath)
    assert run.exit_code == 1, f"fault {case.fault}: the suite did not fail; {run.describe()}"
    summary = run.output.strip().splitlines()[-1]
    assert "error" not in summary, f"a test errored instead of failing: {run.describe()}"
    for node, title in case.broken.items():
        failed = run.lines("FAILED", node)
        assert failed, f"fault {case.fault}: {node} did not fail; {run.describe()}"
        for line in failed:
            assert title in line, f"fault {case.fault}: {line!r} does not name {title!r}"


def test_the_same_tests_pass_through_a_proxy_without_fault(
    live: Settings, pytestconfig: pytest.Config
) -> None:
    files = sorted({f for case in CASES for f in case.files})
    select = " or ".join(f"({case.select})" for case in CASES)
    with _proxy(live, "pass-through") as proxy:
        run = _run_suites(live, proxy, files, select, pytestconfig.rootpath)
    assert run.exit_code == 0, (
        f"the suites fail through a proxy that breaks nothing; {run.describe()}"
    )
    for node in {node for case in CASES for node in case.broken}:
        assert run.lines("PASSED", node), f"{node} did not run and pass; {run.describe()}"
