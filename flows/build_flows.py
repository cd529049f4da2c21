"""Regenerate the reference flows with Langflow's own Python API.

Run with the local target's Langflow environment (it imports Langflow, which flowprobe does not):

    LANGFLOW_ENV="$(python -c 'import flowprobe.local.config as c; print(c.environment_dir())')"
    "$LANGFLOW_ENV/bin/python" flows/build_flows.py [FOLDER]

It writes into FOLDER, else beside itself. ``flowprobe up`` runs it (shipped in the wheel) with
the Langflow version it starts, so that each version's flows embed that version's own component
code (a 1.13 export of the Read File component imports a name 1.12.8 lacks).

Basic Prompting is Langflow's starter project of that name (Chat Input -> model, Prompt as the
model's system message, model -> Chat Output, with the starter's own prompt template), with the
OpenAI model component in place of the generic Language Model, since only the OpenAI component
takes a base URL: it points at flowprobe's stub LLM. The no-model flow (Chat Input -> Prompt ->
Chat Output) measures Langflow's own overhead. The read-file flow (Chat Input and Read File ->
Prompt -> Chat Output) shows an uploaded file's text in its answer: a caller uploads the file
and names it in a ``path`` tweak of the Read File component. Component ids are made stable so
that tweaks and cassettes keep matching.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import langflow
from lfx.components.files_and_knowledge import FileComponent
from lfx.components.input_output import ChatInput, ChatOutput
from lfx.components.models_and_agents import PromptComponent
from lfx.graph import Graph
from lfx_openai.components.openai.openai_chat_model import OpenAIModelComponent

HERE = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parent
STARTER = Path(langflow.__file__).parent / "initial_setup" / "starter_projects"
STUB_URL = "http://127.0.0.1:7861/v1"  # flowprobe.local.config.FLOWS_STUB_URL: replaced at import


def starter_template() -> str:
    starter = json.loads((STARTER / "Basic Prompting.json").read_text(encoding="utf-8"))
    for node in starter["data"]["nodes"]:
        template = node["data"].get("node", {}).get("template", {})
        if node["data"].get("type") == "Prompt":
            return str(template["template"]["value"])
    raise SystemExit("the Basic Prompting starter project has no Prompt component")


def basic_prompting() -> Graph:
    chat_input = ChatInput()
    prompt = PromptComponent()
    prompt.set(template=starter_template())
    model = OpenAIModelComponent()
    model.set(
        input_value=chat_input.message_response,
        system_message=prompt.build_prompt,
        openai_api_base=STUB_URL,
        api_key="flowprobe-stub-needs-no-key",
        model_name="gpt-4o-mini",
        temperature=0.1,
        stream=True,
        max_retries=0,
        timeout=60,
    )
    chat_output = ChatOutput()
    chat_output.set(input_value=model.text_response)
    return Graph(start=chat_input, end=chat_output)


def no_model() -> Graph:
    chat_input = ChatInput()
    prompt = PromptComponent()
    prompt.set(
        template="flowprobe no-model flow. You said: {user_input}",
        user_input=chat_input.message_response,
    )
    chat_output = ChatOutput()
    chat_output.set(input_value=prompt.build_prompt)
    return Graph(start=chat_input, end=chat_output)


def read_file() -> Graph:
    chat_input = ChatInput()
    read = FileComponent()
    prompt = PromptComponent()
    prompt.set(
        template="flowprobe read-file flow. You said: {user_input}\nThe file says: {file_text}",
        user_input=chat_input.message_response,
        file_text=read.load_files_message,
    )
    chat_output = ChatOutput()
    chat_output.set(input_value=prompt.build_prompt)
    return Graph(start=chat_input, end=chat_output)


def stable_ids(flow: dict, suffix: str) -> dict:
    text = json.dumps(flow)
    for index, node in enumerate(flow["data"]["nodes"]):
        old = node["id"]
        new = f"{old.split('-', 1)[0]}-{suffix}{index}"  # random ids may hold a dash
        text = text.replace(old, new)
    return json.loads(text)


def write(graph: Graph, *, flow_id: str, name: str, endpoint: str, description: str) -> None:
    flow = graph.dump(name=name, description=description, endpoint_name=endpoint)
    flow["id"] = flow_id
    flow = stable_ids(flow, "fp")
    path = HERE / f"{endpoint.removeprefix('flowprobe-')}.json"
    path.write_text(json.dumps(flow, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {path.name}: " + ", ".join(n["id"] for n in flow["data"]["nodes"]))


if __name__ == "__main__":
    write(
        basic_prompting(),
        flow_id="5f0c5e1e-f10b-4000-8000-000000000001",
        name="flowprobe Basic Prompting",
        endpoint="flowprobe-basic-prompting",
        description="Langflow's Basic Prompting starter with an OpenAI model on the stub LLM.",
    )
    write(
        no_model(),
        flow_id="5f0c5e1e-f10b-4000-8000-000000000002",
        name="flowprobe no model",
        endpoint="flowprobe-no-model",
        description="Chat Input -> Prompt -> Chat Output: Langflow's overhead alone.",
    )
    write(
        read_file(),
        flow_id="5f0c5e1e-f10b-4000-8000-000000000003",
        name="flowprobe read file",
        endpoint="flowprobe-read-file",
        description="Chat Input and Read File -> Prompt -> Chat Output: an upload's text.",
    )
