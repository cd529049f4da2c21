"""Upload: a file uploaded for a flow reaches the flow's answer through a ``path`` tweak, and a
bad upload (too large, empty, for an unknown flow, without a key) gets a clear error that obeys
the error contract. Runs on the flow named by ``file_flow``, which must have a Read File
component (flowprobe's ``flowprobe-read-file``); skipped when none is set."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from flowprobe import checks, contracts
from flowprobe.checks import check_refused, check_uploaded
from flowprobe.jsonpath import path_of
from flowprobe.wire.answer_paths import RESULTS_TEXT
from flowprobe.wire.client import RunClient, RunResult, run_body
from flowprobe.wire.flowfacts import FlowFacts
from flowprobe.wire.upload import file_tweaks, upload_file

Report = Callable[[str, str], None]
UNKNOWN_FLOW = "5f0c5e1e-f10b-4000-8000-0000000000ff"  # a well-formed UUID no flow has
LARGEST_LIMIT_TRIED_MB = 8  # a bigger limit would make the test slow; set a smaller one


def _nonce_file(nonce: str) -> bytes:
    return f"flowprobe upload\nthe nonce is {nonce}\n".encode()


def _run_reading(
    client: RunClient, flow: FlowFacts, path: str, *, as_list: bool = True
) -> RunResult:
    assert flow.file_reader is not None
    tweaks = file_tweaks(flow.file_reader.id, path, as_list=as_list)
    return client.run(run_body(input_value="flowprobe upload", tweaks=tweaks), flow=flow.flow_id)


def _check_nonce_in_answer(answer: RunResult, nonce: str, report: Report) -> None:
    """The nonce is in the answer, and every client path holds the same answer.

    A file's text has newlines, which ``messages[0].message`` rewrites for markdown: that
    rewrite, and only that, is the finding ``messages-newlines-rewritten``.
    """
    text = checks.check_answer_paths(checks.check_run_answer(answer), report)
    if nonce not in text:
        checks.fail(
            "the uploaded file's text reaches the answer",
            path=path_of(RESULTS_TEXT),
            expected=f"text holding {nonce}",
            received=text,
        )


@pytest.mark.parametrize("as_list", [True, False], ids=["path-list", "path-string"])
def test_an_uploaded_file_reaches_the_answer(
    flowprobe_client: RunClient,
    flowprobe_file_flow: FlowFacts,
    flowprobe_nonce: Callable[[str], str],
    flowprobe_finding: Report,
    as_list: bool,
) -> None:
    nonce = flowprobe_nonce("file")
    flow_id = flowprobe_file_flow.flow_id
    # The nonce stays out of the file's name: an empty file's metadata would show the name.
    uploaded = upload_file(flowprobe_client, flow_id, "upload.txt", _nonce_file(nonce))
    path = check_uploaded(uploaded, flow_id)
    if not path.startswith(f"{flow_id}/"):
        checks.fail(
            "an uploaded file is stored under its flow",
            path="$.file_path",
            expected=f"{flow_id}/…",
            received=path,
        )
    answer = _run_reading(flowprobe_client, flowprobe_file_flow, path, as_list=as_list)
    _check_nonce_in_answer(answer, nonce, flowprobe_finding)


def test_the_deprecated_upload_reaches_the_answer(
    flowprobe_client: RunClient,
    flowprobe_file_flow: FlowFacts,
    flowprobe_nonce: Callable[[str], str],
    flowprobe_finding: Report,
) -> None:
    """The endpoint ``langflow.load.upload_file`` calls, used the way it uses the answer."""
    nonce = flowprobe_nonce("file")
    flow_id = flowprobe_file_flow.flow_id
    content = _nonce_file(nonce)
    uploaded = upload_file(flowprobe_client, flow_id, "n.txt", content, endpoint="deprecated")
    path = check_uploaded(uploaded, flow_id)
    answer = _run_reading(flowprobe_client, flowprobe_file_flow, path, as_list=False)
    refused = "outside the authenticated user's storage scope"
    if path.startswith("/") and answer.status == 500 and refused in answer.text:
        flowprobe_finding("deprecated-upload-path-unreadable", f"{path} -> HTTP 500: {refused}")
        return
    _check_nonce_in_answer(answer, nonce, flowprobe_finding)


def test_an_oversized_file_is_refused_with_413(
    flowprobe_client: RunClient, flowprobe_file_flow: FlowFacts, flowprobe_mode: str
) -> None:
    if flowprobe_mode != "live":
        pytest.skip(
            f"live only: its body (over 1 MB) is not kept in a cassette (mode {flowprobe_mode})"
        )
    target = flowprobe_client.target
    config = flowprobe_client.http.get(target.api_url("config"), headers=target.auth_headers())
    limit_mb = config.json().get("max_file_size_upload") if config.status_code == 200 else None
    if not isinstance(limit_mb, int) or limit_mb > LARGEST_LIMIT_TRIED_MB:
        pytest.skip(
            f"the target's upload limit is {limit_mb} MB (GET /api/v1/config); set "
            f"LANGFLOW_MAX_FILE_SIZE_UPLOAD to {LARGEST_LIMIT_TRIED_MB} or less to test it"
        )
    content = b"x" * (limit_mb * 1024 * 1024 + 4096)
    for endpoint in ("files", "deprecated"):
        answer = upload_file(
            flowprobe_client, flowprobe_file_flow.flow_id, "big.txt", content, endpoint=endpoint
        )
        check_refused(answer, (413,), f"a file over the {limit_mb} MB limit answers 413")


def test_an_empty_file_is_refused(
    flowprobe_client: RunClient, flowprobe_file_flow: FlowFacts, flowprobe_finding: Report
) -> None:
    answer = upload_file(flowprobe_client, flowprobe_file_flow.flow_id, "empty.txt", b"")
    if answer.status == 201:
        contracts.check("upload-response", answer.body)
        flowprobe_finding("empty-upload-accepted", f"got 201 {json.dumps(answer.body)[:160]}")
        return
    check_refused(answer, (400, 413, 422), "an empty file is refused with a 4xx")


@pytest.mark.parametrize("endpoint", ["files", "deprecated"])
def test_an_upload_for_an_unknown_flow_is_404(flowprobe_client: RunClient, endpoint: str) -> None:
    answer = upload_file(flowprobe_client, UNKNOWN_FLOW, "n.txt", b"flowprobe", endpoint=endpoint)
    check_refused(answer, (404,), "an upload for an unknown flow answers 404")


@pytest.mark.parametrize("endpoint", ["files", "deprecated"])
def test_an_upload_by_endpoint_name_is_422(
    flowprobe_client: RunClient, flowprobe_file_flow: FlowFacts, endpoint: str
) -> None:
    name = flowprobe_file_flow.endpoint_name or "flowprobe-no-such-flow"
    answer = upload_file(flowprobe_client, name, "n.txt", b"flowprobe", endpoint=endpoint)
    check_refused(answer, (422,), "an upload names its flow by UUID, else 422")


def test_an_upload_without_a_key_is_refused(
    flowprobe_client: RunClient, flowprobe_file_flow: FlowFacts
) -> None:
    flow_id = flowprobe_file_flow.flow_id
    answer = upload_file(flowprobe_client, flow_id, "n.txt", b"flowprobe", api_key="")
    check_refused(answer, (401, 403), "an upload without a key is refused")
