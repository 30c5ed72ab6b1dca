"""The kernel-start retry of ../conftest.py: a port taken before the kernel bound it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbval.kernel
import pytest

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
DIED = "Kernel died before replying to kernel_info"


def _wrap(monkeypatch, failures: list[BaseException]):
    calls = []

    def start(*args, **kwargs):
        calls.append(args)
        if failures:
            raise failures.pop(0)
        return "manager", "client"

    monkeypatch.setattr(nbval.kernel, "start_new_kernel", start)
    spec = importlib.util.spec_from_file_location("jwtlab_root_conftest", ROOT_CONFTEST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # wraps nbval.kernel.start_new_kernel
    return calls


def test_a_kernel_that_died_at_start_is_started_again(monkeypatch):
    calls = _wrap(monkeypatch, [RuntimeError(DIED), RuntimeError(DIED)])
    assert nbval.kernel.start_new_kernel("python3") == ("manager", "client")
    assert len(calls) == 3


def test_other_failures_and_a_third_death_are_raised(monkeypatch):
    calls = _wrap(monkeypatch, [RuntimeError("Kernel didn't respond to heartbeats")])
    with pytest.raises(RuntimeError, match="heartbeats"):
        nbval.kernel.start_new_kernel("python3")
    assert len(calls) == 1
    calls = _wrap(monkeypatch, [RuntimeError(DIED)] * 3)
    with pytest.raises(RuntimeError, match="died"):
        nbval.kernel.start_new_kernel("python3")
    assert len(calls) == 3
