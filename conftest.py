"""Shared by `pytest tests` and `pytest notebooks` (nbval).

A Jupyter kernel listens on five TCP ports that jupyter_client picks as free and then
leaves for the kernel to bind a second later. On a machine where other programs keep
opening ports (CI's parallel workers start servers, apps and connections all the time),
one of the five is sometimes taken in that second: the kernel dies with "Address already
in use" before it answers, and a notebook fails that has nothing wrong with it. Such a
start is tried again, with five new ports; any other failure is raised at once.
"""

from __future__ import annotations

import functools

KERNEL_START_ATTEMPTS = 3


def _port_taken(exc: BaseException) -> bool:
    return isinstance(exc, RuntimeError) and "Kernel died before replying" in str(exc)


def _retry_kernel_starts() -> None:
    try:
        import nbval.kernel
    except ImportError:  # the notebook tests are not installed: nothing to start
        return
    start = nbval.kernel.start_new_kernel
    if getattr(start, "retries_taken_ports", False):
        return

    @functools.wraps(start)
    def start_new_kernel(*args, **kwargs):
        for attempt in range(KERNEL_START_ATTEMPTS):
            try:
                return start(*args, **kwargs)
            except RuntimeError as exc:
                if not _port_taken(exc) or attempt + 1 == KERNEL_START_ATTEMPTS:
                    raise

    start_new_kernel.retries_taken_ports = True
    nbval.kernel.start_new_kernel = start_new_kernel


_retry_kernel_starts()
