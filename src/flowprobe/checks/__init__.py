"""Verdicts on what a target answered, computed once: the suites raise them, load users count
them (see :mod:`.answer`), and findings the suites accept (:mod:`.findings`)."""

from __future__ import annotations

from flowprobe.checks.answer import (
    answer_at_sample_paths,
    check_answer_paths,
    check_run_answer,
    check_status,
    check_stream,
    check_stream_order,
    check_tokens_match_end,
    fail,
)

__all__ = [
    "answer_at_sample_paths",
    "check_answer_paths",
    "check_run_answer",
    "check_status",
    "check_stream",
    "check_stream_order",
    "check_tokens_match_end",
    "fail",
]
