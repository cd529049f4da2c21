"""Tests for flowprobe.cassettes: scrubbing, body matching, and a cassette that keeps no secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import vcr
from vcr.errors import CannotOverwriteExistingCassetteException
from vcr.request import Request

from flowprobe.cassettes import (
    REDACTED,
    body_matcher,
    cassette_config,
    find_secrets,
    register,
    scrub_body,
    scrub_request,
    scrub_response,
    scrub_value,
    vcr_settings,
    write_replay_target,
)
from flowprobe.target import Target
from flowprobe.wire.client import RunClient, run_body
from flowprobe.wire.upload import upload_file
from loopback import RunAnswerServer, serving

SECRET = "sk-recording-secret-0123456789abcdef"
LANGFLOW_KEY = "lf-key-never-in-a-cassette-42"


def body_with_secrets() -> dict[str, Any]:
    return run_body(
        input_value="hello",
        tweaks={
            "OpenAIModel-a1B2c": {"api_key": SECRET, "temperature": 0.2},
            "OpenAI": {"openai_api_key": SECRET, "model_name": "stub"},
        },
    )


class TestScrubBody:
    def test_keys_inside_tweaks_are_scrubbed(self) -> None:
        scrubbed = scrub_body(json.dumps(body_with_secrets()).encode())
        assert isinstance(scrubbed, bytes)
        assert SECRET.encode() not in scrubbed
        tweaks = json.loads(scrubbed)["tweaks"]
        assert tweaks["OpenAIModel-a1B2c"] == {"api_key": REDACTED, "temperature": 0.2}
        assert tweaks["OpenAI"] == {"openai_api_key": REDACTED, "model_name": "stub"}

    def test_an_sk_string_anywhere_is_scrubbed(self) -> None:
        body = json.dumps(run_body(input_value=f"my key is {SECRET}, keep it"))
        scrubbed = scrub_body(body)
        assert isinstance(scrubbed, str)
        assert json.loads(scrubbed)["input_value"] == "my key is ***, keep it"

    def test_a_non_json_body_is_scrubbed_as_text(self) -> None:
        assert scrub_body(f"{{broken {SECRET}".encode()) == b"{broken ***"

    def test_a_str_body_stays_a_str(self) -> None:
        assert scrub_body(json.dumps({"api_key": SECRET})) == json.dumps({"api_key": REDACTED})

    @pytest.mark.parametrize(
        "body",
        [
            b'{"input_value":"hi",   "input_type":"chat"}',
            json.dumps(
                run_body(session_id="s-1", tweaks={"ChatInput-x": {"should_store": False}})
            ).encode(),
            # Langflow's OpenAI component has a max_tokens field: a count, not a secret.
            json.dumps(
                run_body(tweaks={"OpenAI-1": {"max_tokens": 256, "temperature": 0.1}})
            ).encode(),
            # "sk-" inside an ordinary word is not a key.
            json.dumps(
                run_body(input_value="assess the risk-management-plan task-0123456789")
            ).encode(),
            b'{"input_value": "no key here", "tweaks": {"OpenAI": {"api_key": ""}}}',
            b"{not json at all",
            "caf\u00e9 \u2615".encode(),
            b"[1, 2, 3]",
        ],
    )
    def test_other_bodies_are_byte_identical(self, body: bytes) -> None:
        assert scrub_body(body) == body

    @pytest.mark.parametrize("body", [None, b"", ""])
    def test_empty_bodies_pass_through(self, body: bytes | str | None) -> None:
        assert scrub_body(body) == body

    def test_scrub_value_walks_lists(self) -> None:
        assert scrub_value([{"token": "abc"}, SECRET, 3]) == [{"token": REDACTED}, REDACTED, 3]


def vcr_request(body: bytes | str | None) -> Request:
    return Request("POST", "http://127.0.0.1:7860/api/v1/run/f?stream=false", body, {})


class TestBodyMatcher:
    def test_a_recorded_scrubbed_body_matches_the_live_one(self) -> None:
        live = body_with_secrets()
        recorded = scrub_body(json.dumps(live).encode())
        body_matcher(vcr_request(recorded), vcr_request(json.dumps(live).encode()))

    def test_key_order_does_not_matter(self) -> None:
        live = json.dumps(body_with_secrets())
        reordered = dict(reversed(list(json.loads(scrub_body(live) or "{}").items())))
        body_matcher(vcr_request(json.dumps(reordered, indent=2)), vcr_request(live))

    def test_different_bodies_do_not_match(self) -> None:
        with pytest.raises(AssertionError):
            body_matcher(
                vcr_request(json.dumps(run_body(input_value="a"))),
                vcr_request(json.dumps(run_body(input_value="b"))),
            )

    def test_bodies_that_differ_in_a_tweak_count_do_not_match(self) -> None:
        def tweaked(count: int) -> str:
            return json.dumps(run_body(tweaks={"OpenAI-1": {"max_tokens": count}}))

        with pytest.raises(AssertionError):
            body_matcher(vcr_request(tweaked(5)), vcr_request(tweaked(500)))

    def test_a_missing_field_does_not_match(self) -> None:
        with pytest.raises(AssertionError):
            body_matcher(
                vcr_request(json.dumps(run_body())),
                vcr_request(json.dumps(run_body(session_id="s"))),
            )

    def test_non_json_bodies_match_as_text(self) -> None:
        body_matcher(vcr_request(b"{broken"), vcr_request(b"{broken"))
        with pytest.raises(AssertionError):
            body_matcher(vcr_request(b"{broken"), vcr_request(b"{broke"))


def multipart(boundary: str, content: str) -> Request:
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
        f"{content}\r\n--{boundary}--\r\n"
    ).encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    return Request("POST", "http://127.0.0.1:7860/api/v1/files/upload/f", body, headers)


class TestMultipartBodies:
    def test_uploads_match_whatever_their_boundaries(self) -> None:
        body_matcher(multipart("a1b2c3d4", "the nonce"), multipart("e5f6a7b8", "the nonce"))

    def test_uploads_of_different_files_do_not_match(self) -> None:
        with pytest.raises(AssertionError):
            body_matcher(multipart("a1b2c3d4", "the nonce"), multipart("a1b2c3d4", "another"))

    def test_a_key_inside_an_uploaded_file_is_scrubbed(self) -> None:
        recorded = scrub_request(multipart("a1b2c3d4", f"key {SECRET}"))
        assert SECRET.encode() not in recorded.body
        body_matcher(recorded, multipart("e5f6a7b8", f"key {SECRET}"))


class TestVcrSettings:
    def test_secret_headers_and_query_parameters_are_filtered(self, tmp_path: Path) -> None:
        settings = vcr_settings(tmp_path, "none")
        headers = {name for name, _ in settings["filter_headers"]}
        assert {"x-api-key", "authorization", "cookie"} <= headers
        assert ("x-api-key", REDACTED) in settings["filter_query_parameters"]
        assert settings["record_mode"] == "none"
        assert settings["cassette_library_dir"] == str(tmp_path)
        assert "flowprobe_body" in settings["match_on"]

    def test_cassette_config_is_replay_only_unless_told_and_names_no_folder(self) -> None:
        assert cassette_config()["record_mode"] == "none"
        assert cassette_config("new_episodes")["record_mode"] == "new_episodes"
        # The folder is pytest-recording's vcr_cassette_dir: a vcr_config must not pin it.
        assert "cassette_library_dir" not in cassette_config()

    def test_vcr_settings_are_the_cassette_config_and_the_folder(self, tmp_path: Path) -> None:
        settings = vcr_settings(tmp_path, "new_episodes")
        assert settings.pop("cassette_library_dir") == str(tmp_path)
        assert settings == cassette_config("new_episodes")

    def test_scrub_response_hides_cookies_a_server_set(self) -> None:
        response = {"headers": {"Set-Cookie": ["session=abc"], "content-type": ["x"]}}
        assert scrub_response(response)["headers"] == {
            "Set-Cookie": [REDACTED],
            "content-type": ["x"],
        }

    def test_write_replay_target_never_stores_the_key(self, tmp_path: Path) -> None:
        env = {
            "FLOWPROBE_BASE_URL": "http://127.0.0.1:7860",
            "FLOWPROBE_FLOW": "f",
            "FLOWPROBE_API_KEY": LANGFLOW_KEY,
        }
        path = write_replay_target(tmp_path, env)
        assert json.loads(path.read_text()) == {"base_url": "http://127.0.0.1:7860", "flow": "f"}
        assert LANGFLOW_KEY not in path.read_text()


# -- end to end: record a real call, read the YAML, replay it --------------------------------


@pytest.fixture
def server() -> Iterator[RunAnswerServer]:
    with serving(RunAnswerServer({"set-cookie": f"session={SECRET}; HttpOnly"})) as httpd:
        yield httpd


def recorder() -> vcr.VCR:
    instance = vcr.VCR()
    register(instance)
    return instance


def target(server: RunAnswerServer) -> Target:
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    return Target(base_url=base_url, flow="f", api_key=SECRET)


def call(client: RunClient, body: dict[str, Any] | None = None) -> Any:
    return client.run(body or body_with_secrets(), params={"x-api-key": SECRET})


class TestCassette:
    def test_a_recorded_call_keeps_no_secret_and_replays(
        self, server: RunAnswerServer, tmp_path: Path
    ) -> None:
        with (
            recorder().use_cassette("call.yaml", **vcr_settings(tmp_path, "once")),
            RunClient(target(server)) as client,
        ):
            recorded = call(client)
        assert recorded.status == 200
        assert len(server.received) == 1
        assert SECRET.encode() in server.received[0]  # the live call did carry the secret

        text = (tmp_path / "call.yaml").read_text(encoding="utf-8")
        assert SECRET not in text
        assert find_secrets(text, known=(SECRET,)) == []
        assert "x-api-key=%2A%2A%2A" in text or "x-api-key=***" in text
        assert "openai_api_key" in text  # the field stays, its value goes

        with (
            recorder().use_cassette("call.yaml", **vcr_settings(tmp_path, "none")),
            RunClient(target(server)) as client,
        ):
            replayed = call(client)
        assert len(server.received) == 1  # nothing reached the server
        assert replayed.status == 200
        assert replayed.body == recorded.body

    def test_a_different_body_does_not_replay(
        self, server: RunAnswerServer, tmp_path: Path
    ) -> None:
        with (
            recorder().use_cassette("call.yaml", **vcr_settings(tmp_path, "once")),
            RunClient(target(server)) as client,
        ):
            call(client)
        with (
            recorder().use_cassette("call.yaml", **vcr_settings(tmp_path, "none")),
            RunClient(target(server)) as client,
            pytest.raises(CannotOverwriteExistingCassetteException),
        ):
            call(client, run_body(input_value="something else"))

    def test_an_upload_records_and_replays(self, server: RunAnswerServer, tmp_path: Path) -> None:
        content = f"flowprobe upload {SECRET}".encode()
        with (
            recorder().use_cassette("upload.yaml", **vcr_settings(tmp_path, "once")),
            RunClient(target(server)) as client,
        ):
            assert upload_file(client, "f", "a.txt", content).status == 200
        assert SECRET not in (tmp_path / "upload.yaml").read_text(encoding="utf-8")
        with (
            recorder().use_cassette("upload.yaml", **vcr_settings(tmp_path, "none")),
            RunClient(target(server)) as client,
        ):
            assert upload_file(client, "f", "a.txt", content).status == 200
        assert len(server.received) == 1  # the replay never reached the server

    @pytest.mark.parametrize("content", [b'{"input_value": "flowprobe', b"42", b'"text"'])
    def test_bodies_that_are_not_json_objects_record_and_replay(
        self, server: RunAnswerServer, tmp_path: Path, content: bytes
    ) -> None:
        # The error suites send such bodies (with content-type application/json) on purpose.
        with (
            recorder().use_cassette("raw.yaml", **vcr_settings(tmp_path, "once")),
            RunClient(target(server)) as client,
        ):
            assert client.run(content=content).status == 200
        with (
            recorder().use_cassette("raw.yaml", **vcr_settings(tmp_path, "none")),
            RunClient(target(server)) as client,
        ):
            assert client.run(content=content).status == 200
        assert server.received == [content]


class TestFindSecrets:
    def test_finds_an_sk_key(self) -> None:
        found = find_secrets(f"tweaks: {{openai_api_key: {SECRET}}}")
        assert found == [SECRET[:12] + "…"]

    def test_finds_a_bearer_token(self) -> None:
        found = find_secrets("authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig")
        assert found
        assert any(item.startswith("Bearer eyJ") for item in found)

    def test_finds_a_known_secret_and_shows_only_its_start(self) -> None:
        found = find_secrets(f"uri: http://x/?key={LANGFLOW_KEY}", known=(LANGFLOW_KEY,))
        assert found == [LANGFLOW_KEY[:4] + "…"]
        assert all(LANGFLOW_KEY not in item for item in found)

    def test_finds_a_long_header_value(self) -> None:
        assert find_secrets('"x-api-key": "abcdefghijklmnopqrstuvwxyz"')

    def test_clean_and_scrubbed_text_has_none(self) -> None:
        scrubbed = "headers:\n  x-api-key:\n  - '***'\n  authorization:\n  - '***'\n"
        assert find_secrets(scrubbed, known=(SECRET, "")) == []
        assert find_secrets("the risk-management-plan task-0123456789") == []
