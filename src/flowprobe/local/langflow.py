"""The built-in local target: a real Langflow on loopback, the stub LLM beside it, and the
reference flows imported into it.

``up`` orchestrates the modules beside this one: ``install`` (Langflow in its own virtual
environment), ``launch`` and ``processes`` (the two processes and their pids file),
``provision`` (flows and API key) and ``target_env`` (the settings file). What the target is,
its version, ports and Langflow's environment, lives in ``config``. Its config and database
live in the project's ignored ``.flowprobe/`` folder.
"""

from __future__ import annotations

# Modules, not names: a test patches `processes.stop` where it lives and `up` sees the patch.
from flowprobe.local import install, launch, processes, provision, reference_flows, target_env
from flowprobe.local.config import LocalConfig, Progress


def up(config: LocalConfig, progress: Progress) -> dict[str, str]:
    """Start (or reuse) the local target and return the settings a test run needs."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    (config.state_dir / ".gitignore").write_text("*\n", encoding="utf-8")
    running = processes.running(config)
    differs = _differences(config) if running else []
    if running and not differs and provision.answers_runs(config):
        progress("the local target is already running; reusing it")
    else:
        if differs:
            progress(f"the running Langflow has {', '.join(differs)}; restarting it")
        elif running:
            progress("the running Langflow no longer answers run calls; restarting it")
        langflow = install.ensure_langflow(progress, version=config.langflow_version)
        processes.stop(config, progress)
        launch.start_processes(config, langflow, progress)
    flows = reference_flows.ensure_built(config, progress)
    values = provision.provision(config, flows)
    target_env.write_target_env(config, values)
    return values


def _differences(config: LocalConfig) -> list[str]:
    """How the running target differs from ``config``, e.g. ``langflow_version 1.12.8``."""
    recorded = processes.recorded(config)
    wanted = launch.identity(config)
    return [
        f"{name} {recorded.get(name)} (asked: {value})"
        for name, value in wanted.items()
        if recorded.get(name) != value
    ]
