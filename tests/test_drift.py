"""`flowprobe drift`: the committed cassettes as OLD, an edited copy of them as NEW.

Each NEW is written in ``tmp_path`` from the real cassettes by a small edit of their answers
(a field renamed, retyped, added; a status changed), never by hand, so every other call stays as
the real Langflow answered it. Live replay is tested against an in-process httpx transport that
answers with the recorded answers.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner, Result

from flowprobe import drift
from flowprobe.cli import cli
from flowprobe.drift import shapes
from flowprobe.drift.replay import WRONG_KEY
from flowprobe.errors import FlowprobeError, SettingsError
from flowprobe.settings import load_settings
from flowprobe.target import Target

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
MOST_CLIENTS = "outputs[].outputs[].results.message.text"
KEY = "sk-flowprobe-test-key-0123456789"
Edit = Callable[[dict[str, Any]], None]  # edits one interaction (request and response) in place


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["drift", *args], prog_name="flowprobe")


def _answer(interaction: dict[str, Any]) -> str:
    body = interaction["response"]["body"]["string"]
    return body.decode() if isinstance(body, bytes) else str(body)


def _is_run(interaction: dict[str, Any], stream: str) -> bool:
    request = interaction["request"]
    return "/api/v1/run/" in request["uri"] and f"stream={stream}" in request["uri"]


def copy_cassettes(tmp_path: Path, edit: Edit) -> Path:
    """The committed cassettes copied to ``tmp_path/new``, each interaction passed to ``edit``."""
    new = tmp_path / "new"
    shutil.copytree(CASSETTES, new)
    for path in sorted(new.rglob("*.yaml")):
        cassette = yaml.safe_load(path.read_text(encoding="utf-8"))
        for interaction in cassette["interactions"]:
            edit(interaction)
        path.write_text(yaml.safe_dump(cassette), encoding="utf-8")
    return new


def edit_json_answers(change: Callable[[Any], None]) -> Edit:
    """An edit of every 200 JSON answer of a non-streaming run call."""

    def edit(interaction: dict[str, Any]) -> None:
        if _is_run(interaction, "false") and interaction["response"]["status"]["code"] == 200:
            answer = json.loads(_answer(interaction))
            change(answer)
            interaction["response"]["body"]["string"] = json.dumps(answer)

    return edit


def _results(answer: Any) -> Iterator[dict[str, Any]]:
    for run_output in answer.get("outputs") or []:
        yield from run_output.get("outputs") or []


def rename_text(answer: Any) -> None:
    for result in _results(answer):
        message = (result.get("results") or {}).get("message")
        if isinstance(message, dict) and "text" in message:
            message["txt"] = message.pop("text")


def changes_at(report: drift.DriftReport, path: str) -> list[drift.Change]:
    return [change for change in report.changes if change.path == path]


@pytest.fixture(scope="module")
def old() -> drift.Recording:
    return drift.load_recording(CASSETTES)


def test_the_cassettes_hold_run_calls_of_both_kinds(old: drift.Recording) -> None:
    assert len(old.calls) > 40
    assert {call.stream for call in old.calls} >= {"true", "false"}
    assert {call.path for call in old.calls} >= {"/api/v1/run/{flow}", "/api/v1/run/{flow-id}"}
    requests = [
        interaction["request"]
        for path in CASSETTES.rglob("*.yaml")
        for interaction in yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]
    ]
    runs = [r for r in requests if "/api/v1/run/" in r["uri"]]
    # A run that reads an uploaded file depends on an upload a replay does not repeat.
    reading = [r for r in runs if '"path"' in str(r["body"]) or '"file_path"' in str(r["body"])]
    assert reading, "the upload suite's runs are expected among the cassettes"
    assert len(old.calls) == len(runs) - len(reading)
    assert old.skipped == len(requests) - len(old.calls) > 0


def test_identical_sets_pass_with_no_change(tmp_path: Path) -> None:
    result = invoke(str(CASSETTES), str(copy_cassettes(tmp_path, lambda interaction: None)))
    assert result.exit_code == 0, result.output
    assert "0 changes, 0 breaking" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("PASS")


def test_a_removed_field_clients_read_fails_naming_the_path(
    tmp_path: Path, old: drift.Recording
) -> None:
    new = copy_cassettes(tmp_path, edit_json_answers(rename_text))
    result = invoke(str(CASSETTES), str(new))
    assert result.exit_code == 1, result.output
    assert result.stdout.rstrip().splitlines()[-1].startswith(f"FAIL: 1 breaking: {MOST_CLIENTS}")
    report = drift.compare(old, drift.load_recording(new))
    first = report.changes[0]
    assert (first.kind, first.path, first.old_type, first.new_type) == (
        "removed",
        MOST_CLIENTS,
        "string",
        "(gone)",
    )
    assert first.breaking
    assert first.client_read
    assert first.sample_read
    assert first.rank == 1
    paired_200 = [c for c in old.calls if c.stream == "false" and c.status == 200]
    assert first.calls == len([c for c in paired_200 if b'"text"' in c.answer])
    renamed = changes_at(report, "outputs[].outputs[].results.message.txt")
    assert [(c.kind, c.breaking, c.client_read) for c in renamed] == [("added", False, False)]


def test_a_removed_field_in_the_end_event_fails_too(tmp_path: Path) -> None:
    def edit(interaction: dict[str, Any]) -> None:
        if _is_run(interaction, "true") and interaction["response"]["status"]["code"] == 200:
            records = _answer(interaction).split("\n\n")
            for number, record in enumerate(records):
                event = json.loads(record) if record.strip() else {}
                if event.get("event") == "token":
                    event["data"]["piece"] = event["data"].pop("chunk")
                    records[number] = json.dumps(event)
            interaction["response"]["body"]["string"] = "\n\n".join(records)

    report = drift.compare(
        drift.load_recording(CASSETTES), drift.load_recording(copy_cassettes(tmp_path, edit))
    )
    assert report.breaking
    removed = changes_at(report, "data.chunk")
    assert [(c.where, c.kind, c.breaking) for c in removed] == [("event token", "removed", True)]


def test_an_added_field_passes_but_is_listed(tmp_path: Path) -> None:
    new = copy_cassettes(tmp_path, edit_json_answers(lambda answer: answer.update(server="x")))
    result = invoke(str(CASSETTES), str(new), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["breaking"] is False
    assert [(c["kind"], c["path"], c["new_type"]) for c in report["changes"]] == [
        ("added", "server", "string")
    ]


def test_a_retyped_field_clients_read_fails_and_one_they_do_not_is_listed(tmp_path: Path) -> None:
    def retype(answer: Any) -> None:
        answer["session_id"] = 1
        for result in _results(answer):
            result["component_display_name"] = [result["component_display_name"]]

    report = drift.compare(
        drift.load_recording(CASSETTES),
        drift.load_recording(copy_cassettes(tmp_path, edit_json_answers(retype))),
    )
    retyped = {
        c.path: (c.old_type, c.new_type, c.breaking) for c in report.changes if c.kind == "retyped"
    }
    assert retyped == {
        "session_id": ("string", "number", True),
        "outputs[].outputs[].component_display_name": ("string", "array", False),
    }
    assert [c.path for c in report.breaking_changes] == ["session_id"]


def _set_status(matches: str, status: int) -> Edit:
    def edit(interaction: dict[str, Any]) -> None:
        if matches in interaction["request"]["uri"]:
            interaction["response"]["status"] = {"code": status, "message": "changed"}

    return edit


def test_a_changed_status_is_listed_and_fails_only_when_a_success_stopped(tmp_path: Path) -> None:
    old = drift.load_recording(CASSETTES)
    new = drift.load_recording(copy_cassettes(tmp_path / "a", _set_status("no-such-flow", 500)))
    report = drift.compare(old, new)
    assert not report.breaking
    assert [(c.kind, c.path, c.old_type, c.new_type, c.calls) for c in report.changes] == [
        ("status", "POST /api/v1/run/flowprobe-no-such-flow?stream=false", "404", "500", 1)
    ]
    new = drift.load_recording(copy_cassettes(tmp_path / "b", _set_status("stream=true", 502)))
    report = drift.compare(old, new)
    # A changed status is the change: the bodies of the two answers are not compared.
    assert {c.kind for c in report.changes} == {"status"}
    stopped = [c for c in report.changes if c.old_type == "200"]
    assert stopped
    assert all(c.breaking for c in stopped)
    assert sum(c.calls for c in stopped) == len(
        [c for c in old.calls if c.stream == "true" and c.status == 200]
    )


def test_changes_rank_breaking_first_then_by_calls_affected(tmp_path: Path) -> None:
    def edit(answer: Any) -> None:
        rename_text(answer)
        answer["extra"] = True

    report = drift.compare(
        drift.load_recording(CASSETTES),
        drift.load_recording(copy_cassettes(tmp_path, edit_json_answers(edit))),
    )
    assert len(report.changes) >= 3  # the removal, the renamed field, the extra one
    assert [c.rank for c in report.changes] == list(range(1, len(report.changes) + 1))
    keys = [(c.severity, -c.calls, not c.sample_read) for c in report.changes]
    assert keys == sorted(keys)
    assert report.changes[0].breaking
    assert not report.changes[-1].breaking


def test_unpaired_calls_are_listed_not_fatal(tmp_path: Path) -> None:
    def edit(interaction: dict[str, Any]) -> None:
        request = interaction["request"]
        request["uri"] = request["uri"].replace("no-such-flow", "another-missing-flow")

    result = invoke(str(CASSETTES), str(copy_cassettes(tmp_path, edit)))
    assert result.exit_code == 0, result.output
    assert (
        "only in OLD (not fatal):\n  POST /api/v1/run/flowprobe-no-such-flow?stream=false"
        in result.stdout
    )
    assert (
        "only in NEW (not fatal):\n  POST /api/v1/run/flowprobe-another-missing-flow"
        in result.stdout
    )


def test_the_markdown_report_has_one_row_per_change(tmp_path: Path) -> None:
    new = copy_cassettes(tmp_path, edit_json_answers(rename_text))
    result = invoke(str(CASSETTES), str(new), "--format", "markdown")
    assert result.exit_code == 1
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 2  # header, the removal, the addition
    assert f"`{MOST_CLIENTS}`" in rows[1]
    assert "**yes**" in rows[1]


# -- usage errors: one sentence, exit 2, no traceback ------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (("missing-dir", str(CASSETTES)), "missing-dir is not a folder of cassettes"),
        ((str(CASSETTES), "missing-dir"), "is neither a cassette folder nor a live target"),
        ((str(CASSETTES.parent / "contracts"), str(CASSETTES)), "is not a cassette set"),
        ((str(CASSETTES), "live"), "no target: set FLOWPROBE_BASE_URL"),
        ((str(CASSETTES), "ftp://staging.example.com"), "is neither a cassette folder nor a"),
    ],
)
def test_bad_arguments_are_one_sentence_and_exit_2(
    arguments: tuple[str, str], said: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .flowprobe/target.env here
    monkeypatch.delenv("FLOWPROBE_BASE_URL", raising=False)
    monkeypatch.setenv("FLOWPROBE_FLOW", "flowprobe-basic-prompting")
    result = invoke(*arguments)
    assert result.exit_code == 2, result.output
    assert said in result.stderr
    assert result.stderr.startswith("flowprobe: error: ")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "text", ["not: [a cassette\n", "interactions:\n- request: {}\n", "- just a list\n"]
)
def test_a_yaml_file_that_is_no_cassette_is_one_sentence_and_exit_2(
    text: str, tmp_path: Path
) -> None:
    (tmp_path / "broken.yaml").write_text(text, encoding="utf-8")
    result = invoke(str(tmp_path), str(CASSETTES))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"flowprobe: error: {tmp_path / 'broken.yaml'} is not a vcrpy")
    assert "Traceback" not in result.output


def test_an_unreachable_live_target_is_one_sentence_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLOWPROBE_FLOW", "flowprobe-basic-prompting")
    monkeypatch.setenv("FLOWPROBE_API_KEY", KEY)
    url = f"http://127.0.0.1:{_free_port()}"
    result = invoke(str(CASSETTES), url)
    assert result.exit_code == 2, result.output
    error = result.stderr.strip().splitlines()[-1]
    assert error == (
        f"flowprobe: error: cannot reach {url}; is Langflow running there? "
        "Check FLOWPROBE_BASE_URL, or run `flowprobe up`"
    )
    assert KEY not in result.output


# -- live replay, against an in-process transport ----------------------------------------------


def test_a_live_replay_sends_the_key_where_the_recording_had_one(old: drift.Recording) -> None:
    answers = iter(old.calls)
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        recorded = next(answers)
        return httpx.Response(recorded.status, content=recorded.answer)

    target = Target(base_url="http://127.0.0.1:7860", flow="renamed-flow", api_key=KEY)
    live = drift.record_live(old, target, transport=httpx.MockTransport(answer))
    report = drift.compare(old, live)
    assert (report.paired, report.changes, report.breaking) == (len(old.calls), (), False)
    for call, request in zip(old.calls, seen, strict=True):
        assert request.content == call.body
        recorded_key = "x-api-key" in call.headers
        expected = (WRONG_KEY if call.status == 403 else KEY) if recorded_key else None
        assert request.headers.get("x-api-key") == expected
        assert ("/run/renamed-flow?" in str(request.url)) == (call.path == "/api/v1/run/{flow}")
    in_query = [r for r in seen if "x-api-key=" in str(r.url)]
    assert len(in_query) == 1
    assert in_query[0].url.params["x-api-key"] == KEY
    assert KEY not in report.to_text() + report.to_json() + report.to_markdown()


def test_a_live_replay_is_bounded_in_calls(old: drift.Recording) -> None:
    target = Target(base_url="http://127.0.0.1:7860", flow="f", api_key=KEY)
    with pytest.raises(FlowprobeError, match="over the bound of 3"):
        drift.record_live(old, target, max_calls=3)


def test_a_live_replay_is_bounded_in_time(old: drift.Recording) -> None:
    sent: list[httpx.Request] = []

    def slow(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        time.sleep(0.05)
        return httpx.Response(200, json={})

    target = Target(base_url="http://127.0.0.1:7860", flow="f", api_key=KEY)
    with pytest.raises(FlowprobeError, match=r"overran its 0\.01 s bound"):
        drift.record_live(old, target, time_limit=0.01, transport=httpx.MockTransport(slow))
    assert len(sent) == 1  # one call at a time: the bound is checked before each one


@pytest.mark.parametrize(
    "url", ["https://staging.example.com", "http://langflow.internal:7860", "http://127.0.0.1:1"]
)
def test_any_http_target_is_accepted_for_a_live_replay(url: str) -> None:
    settings = load_settings({"base_url": url, "flow": "f"}, env={}, pyproject={})
    assert drift.replay_target(settings).base_url == url  # validation only: nothing is sent


def test_a_target_that_is_no_http_url_is_refused_for_a_live_replay() -> None:
    settings = load_settings(
        {"base_url": "ftp://staging.example.com", "flow": "f"}, env={}, pyproject={}
    )
    with pytest.raises(SettingsError, match=r"ftp://staging\.example\.com"):
        drift.replay_target(settings)


def test_drift_bounds_a_staging_url_before_it_sends_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLOWPROBE_FLOW", "f")
    monkeypatch.setenv("STAGING_KEY", KEY)
    # Refused by --max-calls before any call: the URL passed validation, and nothing went out.
    args = ("https://staging.example.com", "--api-key-env", "STAGING_KEY", "--max-calls", "3")
    result = invoke(str(CASSETTES), *args)
    assert result.exit_code == 2, result.output
    assert "over the bound of 3" in result.stderr
    assert "loopback" not in result.stderr
    assert KEY not in result.output


# -- shapes ----------------------------------------------------------------------------------


def test_a_shape_drops_array_indexes_and_keeps_every_type() -> None:
    shape = shapes.merge([{"a": [{"b": 1}, {"b": None}]}, {"a": [], "c": "x"}])
    rendered = {shapes.render(path): shapes.render_types(types) for path, types in shape.items()}
    assert rendered == {
        "(whole answer)": "object",
        "a": "array",
        "a[]": "object",
        "a[].b": "null|number",
        "c": "string",
    }


def test_the_contracts_mark_what_the_samples_read() -> None:
    read = shapes.client_read_paths("run-response.json")
    for sample in shapes.SAMPLE_PATHS[1:]:
        assert shapes.is_read(sample, read)
    javascript = shapes.SAMPLE_PATHS[0][:-1]  # outputs.message.message: its text is unmarked
    assert shapes.is_read(javascript, read)
    assert shapes.is_read(
        ("outputs", "[]", "outputs", "[]", "outputs", "any_name", "message"), read
    )
    assert not shapes.is_read(("outputs", "[]", "outputs", "[]", "component_display_name"), read)
