"""Every cassette is free of secrets, and every suite test has one to replay."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from flowprobe.cassettes import find_secrets

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
FILES = sorted(CASSETTES.rglob("*.yaml"))


def test_there_are_cassettes() -> None:
    assert len(FILES) > 20
    assert (CASSETTES / "target.json").is_file()


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CASSETTES)) for p in FILES])
def test_a_cassette_holds_no_secret(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert find_secrets(text) == [], f"{path} holds what looks like a secret"
    for interaction in yaml.safe_load(text)["interactions"]:
        request = interaction["request"]
        for name, values in request["headers"].items():
            if name.lower() in ("x-api-key", "authorization", "cookie"):
                assert values == ["***"], f"{path}: header {name} is not scrubbed"
        query = parse_qs(urlsplit(request["uri"]).query)
        assert query.get("x-api-key", ["***"]) == ["***"], f"{path}: query key not scrubbed"


def test_the_secret_scan_finds_a_planted_key(tmp_path: Path) -> None:
    planted = "headers:\n  x-api-key:\n  - sk-AbCdEfGhIjKlMnOpQrStUv\n"
    assert find_secrets(planted)
