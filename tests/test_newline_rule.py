"""The newline rule: a client path that differs from the answer text by exactly Langflow's
markdown rewrite of newlines is the finding ``messages-newlines-rewritten`` when the caller
reports findings; any other difference is still a broken promise."""

from __future__ import annotations

from typing import Any

import pytest

from flowprobe.checks.answer import (
    NEWLINES_REWRITTEN,
    answer_path_violations,
    check_answer_paths,
    markdown_newlines,
)
from flowprobe.errors import ContractViolation

TEXT = "line one\nline two\n\nline three"


def _answer(text: str, *, in_messages: str | None = None, in_outputs: str | None = None) -> Any:
    result = {
        "results": {"message": {"text": text}},
        "outputs": {"message": {"message": text if in_outputs is None else in_outputs}},
        "messages": [{"message": text if in_messages is None else in_messages}],
    }
    return {"outputs": [{"outputs": [result]}]}


def test_the_rewrite_doubles_each_line_break_once() -> None:
    assert markdown_newlines(TEXT) == "line one\n\nline two\n\nline three"


def test_the_rewrite_is_reported_as_the_finding_not_failed() -> None:
    reported: list[tuple[str, str]] = []
    body = _answer(TEXT, in_messages=markdown_newlines(TEXT))
    text = check_answer_paths(body, lambda *finding: reported.append(finding))
    assert text == TEXT
    assert [finding_id for finding_id, _ in reported] == [NEWLINES_REWRITTEN]


def test_without_a_report_the_rewrite_still_fails() -> None:
    with pytest.raises(ContractViolation, match="every client path holds the same answer"):
        check_answer_paths(_answer(TEXT, in_messages=markdown_newlines(TEXT)))
    assert answer_path_violations(_answer(TEXT, in_messages=markdown_newlines(TEXT)))


@pytest.mark.parametrize(
    ("in_messages", "in_outputs"),
    [
        (markdown_newlines(TEXT) + " and more", None),  # the rewrite plus something else
        (TEXT.replace("\n", " "), None),  # newlines dropped, not doubled
        (None, markdown_newlines(TEXT)),  # the rewrite on a path Langflow does not rewrite
    ],
    ids=["rewrite-plus-text", "newlines-dropped", "rewrite-elsewhere"],
)
def test_any_other_difference_fails_even_when_findings_are_reported(
    in_messages: str | None, in_outputs: str | None
) -> None:
    reported: list[tuple[str, str]] = []
    body = _answer(TEXT, in_messages=in_messages, in_outputs=in_outputs)
    with pytest.raises(ContractViolation, match="every client path holds the same answer"):
        check_answer_paths(body, lambda *finding: reported.append(finding))
    assert reported == []


def test_a_single_line_answer_has_no_rewrite_to_accept() -> None:
    reported: list[tuple[str, str]] = []
    check_answer_paths(_answer("one line"), lambda *finding: reported.append(finding))
    assert reported == []
