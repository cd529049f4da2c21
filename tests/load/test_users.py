"""The users against a fake Langflow with Langflow's framing: metrics and failure kinds."""

from __future__ import annotations

import threading
import time

import pytest


def _names(events, request_type):
    return {e["name"] for e in events if e["request_type"] == request_type}


def test_stream_metrics_arrive_as_request_events(load_env, run_locust) -> None:
    code, events, summary = run_locust(load_env("ok"), "Streamer")
    assert code == 0
    assert {
        "time_to_first_token",
        "inter_token_latency",
        "time_per_output_token",
        "end_to_end",
        "output_tokens",
    } <= _names(events, "METRIC")
    calls = [e for e in events if e["request_type"] == "POST"]
    assert calls
    assert all(e["exception"] is None for e in calls)
    ttft = [e["response_time"] for e in events if e["name"] == "time_to_first_token"]
    assert all(25 <= t < 250 for t in ttft), ttft  # the fake waits 30 ms before token 0
    tokens = [e for e in events if e["name"] == "output_tokens"]
    assert {e["response_length"] for e in tokens} == {5}
    itl = [e for e in events if e["name"] == "inter_token_latency"]
    assert len(itl) == 4 * len(tokens)  # the first token has no gap before it
    assert summary["passed"]
    assert summary["metrics_ms"]["time_to_first_token"]["count"] == len(ttft)
    assert "load-test-key" not in str(summary)


@pytest.mark.parametrize(
    ("flow", "kind"),
    [
        ("truncate", "truncated"),
        ("drop", "truncated"),
        ("error", "error_event"),
        ("status500", "http_500"),
    ],
)
def test_broken_streams_fail_with_their_kind(load_env, run_locust, flow, kind) -> None:
    code, events, summary = run_locust(load_env(flow), "Streamer")
    calls = [e for e in events if e["request_type"] == "POST"]
    assert calls
    assert all(e["exception"] == kind for e in calls)
    assert "time_to_first_token" not in _names(events, "METRIC")
    assert set(summary["errors_by_kind"]) == {kind}
    assert code == 1
    assert summary["passed"] is False


def test_non_streaming_user_checks_the_contract(load_env, run_locust) -> None:
    code, events, _summary = run_locust(load_env("ok"), "Caller")
    calls = [e for e in events if e["request_type"] == "POST"]
    assert calls
    assert [e["exception"] for e in calls if e["exception"]] == []
    assert "end_to_end" in _names(events, "METRIC")
    assert code == 0


def test_unreachable_target_counts_connection_errors(load_env, run_locust) -> None:
    env = load_env("ok", FLOWPROBE_BASE_URL="http://127.0.0.1:9")  # discard port: refused
    code, _, summary = run_locust(env, "Streamer")
    assert set(summary["errors_by_kind"]) == {"connection"}
    assert code == 1


def test_target_dying_mid_run_is_counted_and_the_run_goes_on(
    load_env, run_locust, fake_langflow
) -> None:
    def kill_after_a_served_stream() -> None:
        # Not on a timer: on a busy machine locust may need longer than any fixed delay to start.
        fake_langflow.streams_served.wait(timeout=20)
        time.sleep(0.3)
        fake_langflow.kill()

    threading.Thread(target=kill_after_a_served_stream, daemon=True).start()
    code, events, summary = run_locust(load_env("ok"), "Streamer", seconds=4)
    calls = [e for e in events if e["request_type"] == "POST"]
    assert any(e["exception"] is None for e in calls)  # before it died
    assert summary["errors_by_kind"].get("connection", 0) > 0  # and after
    assert summary["duration_s"] > 2.5  # the run went on to its end
    assert code == 1


def test_a_hanging_target_fails_the_run(load_env, run_locust) -> None:
    code, _, summary = run_locust(load_env("hang"), "Streamer")
    assert summary["requests"] == 0
    assert any("no call completed" in reason for reason in summary["reasons"])
    assert code == 1


def test_a_call_past_its_total_deadline_counts_as_a_timeout(load_env, run_locust) -> None:
    # The trickle never idles long enough for a read timeout; only the total deadline ends it.
    env = load_env("trickle", FLOWPROBE_TIMEOUT="1")
    code, events, summary = run_locust(env, "Streamer", seconds=4)
    calls = [e for e in events if e["request_type"] == "POST"]
    assert calls
    assert {e["exception"] for e in calls} == {"timeout"}
    assert all(900 <= e["response_time"] < 3000 for e in calls), calls
    assert set(summary["errors_by_kind"]) == {"timeout"}
    assert summary["passed"] is False
    assert code == 1


@pytest.mark.parametrize("user", ["Streamer", "Caller"])
def test_a_redirect_fails_the_call_and_the_key_stays_home(
    load_env, run_locust, fake_langflow, user
) -> None:
    code, events, _summary = run_locust(load_env("redirect"), user)
    calls = [e for e in events if e["request_type"] == "POST"]
    assert calls
    assert {e["exception"] for e in calls} == {"http_307"}
    assert fake_langflow.redirected == []
    assert code == 1


def test_a_record_past_the_size_limit_fails_the_call_as_malformed(load_env, run_locust) -> None:
    code, events, summary = run_locust(load_env("endless-record"), "Streamer", seconds=3)
    calls = [e for e in events if e["request_type"] == "POST"]
    assert calls
    assert {e["exception"] for e in calls} == {"malformed"}
    assert set(summary["errors_by_kind"]) == {"malformed"}
    assert code == 1
