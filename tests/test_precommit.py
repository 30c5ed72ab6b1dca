"""The pre-commit hooks run the tools of .venv, so they must name tools that are there and
commands that work: a hook that cannot start blocks every commit of whoever installed it."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _hooks() -> dict[str, dict]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    return {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}


def test_the_hooks_cover_code_notebooks_types_and_the_timestamp_strip():
    hooks = _hooks()
    assert set(hooks) == {"ruff-check", "ruff-format", "mypy", "strip-notebook-timestamps"}
    # mypy checks the package as pyproject.toml configures it, never a few files alone
    assert hooks["mypy"]["pass_filenames"] is False
    assert all("jupyter" in hooks[name]["types_or"] for name in ("ruff-check", "ruff-format"))


def test_every_hook_starts(tmp_path):
    """Each entry, with .venv/bin/ replaced by this interpreter's folder, answers --help."""
    bin_dir = Path(sys.executable).parent
    for name, hook in _hooks().items():
        command = shlex.split(hook["entry"])
        assert command[0].startswith(".venv/bin/"), f"{name}: use the tools in .venv"
        command[0] = str(bin_dir / Path(command[0]).name)
        done = subprocess.run([*command, "--help"], capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0, f"{name}: {hook['entry']} --help failed: {done.stderr}"
