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
from flowprobe.local import install, launch, processes, provision, target_env
from flowprobe.local.config import LocalConfig, Progress


def up(config: LocalConfig, progress: Progress) -> dict[str, str]:
    """Start (or reuse) the local target and return the settings a test run needs."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    (config.state_dir / ".gitignore").write_text("*\n", encoding="utf-8")
    if processes.running(config) and provision.answers_runs(config):
        progress("the local target is already running; reusing it")
    else:
        if processes.running(config):
            progress("the running Langflow no longer answers run calls; restarting it")
        processes.stop(config, progress)
        launch.start_processes(config, install.ensure_langflow(progress), progress)
    values = provision.provision(config)
    target_env.write_target_env(config, values)
    return values
