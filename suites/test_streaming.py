"""Streaming: text/event-stream, every record valid, in order, tokens matching the final text,
ending in ``end``, and really streamed (the first token well before the end)."""

from __future__ import annotations

import pytest

from flowprobe import checks
from flowprobe.wire.client import RunClient, run_body
from flowprobe.wire.flowfacts import FlowFacts

# A buffering proxy delivers every token in the same instant; a real stream spreads them.
MIN_TOKEN_SPREAD = 0.010


NO_MODEL = (
    "the flow has no language model answering into a Chat Output, and its stream carried no tokens"
)


@pytest.fixture
def model_flow(flowprobe_flow: FlowFacts) -> FlowFacts:
    if not flowprobe_flow.streams_tokens:
        pytest.skip(
            "the flow has no language model answering into a Chat Output, so it streams no tokens"
        )
    return flowprobe_flow


def test_stream_records_come_in_order(
    flowprobe_client: RunClient, flowprobe_flow: FlowFacts
) -> None:
    if flowprobe_flow.chat_input is None:
        # The order promised starts with the Chat Input storing the user's message.
        pytest.skip("the flow has no Chat Input, so no user message opens the stream")
    run = flowprobe_client.run_stream(run_body(input_value="flowprobe streaming"))
    checks.check_stream(run)
    checks.check_stream_order(run)


def test_tokens_joined_equal_the_final_text(
    flowprobe_client: RunClient, flowprobe_flow: FlowFacts
) -> None:
    run = flowprobe_client.run_stream(run_body(input_value="flowprobe tokens"))
    summary = checks.check_stream(run)
    if summary.output_tokens == 0 and not flowprobe_flow.streams_tokens:
        # Known only at run time: a model flowprobe does not recognise still streams tokens.
        pytest.skip(NO_MODEL)
    if summary.output_tokens == 0:
        checks.fail(
            "a flow with a model streams tokens",
            path="token events",
            expected="at least one token",
            received="none",
        )
    checks.check_tokens_match_end(summary)


@pytest.mark.flowprobe_live
@pytest.mark.usefixtures("model_flow")
def test_the_stream_really_streams(flowprobe_client: RunClient) -> None:
    run = flowprobe_client.run_stream(run_body(input_value="flowprobe timing"))
    summary = checks.check_stream(run)
    times = summary.token_times
    spread = times[-1] - times[0] if times else 0.0
    early = (summary.end_to_end or 0.0) - (summary.time_to_first_token or 0.0)
    if spread < MIN_TOKEN_SPREAD or early < MIN_TOKEN_SPREAD:
        checks.fail(
            "tokens arrive as they are made, not all at the end",
            path="token arrival",
            expected=f"tokens spread over >= {MIN_TOKEN_SPREAD * 1000:.0f} ms, first token "
            "well before end",
            received=f"spread {spread * 1000:.1f} ms, first token {early * 1000:.1f} ms before end",
        )
