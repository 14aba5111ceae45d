"""The task table of worker processes that may run learned models: torch and triton load first.

See reconstruct.learned.base.load_native_libraries: in the other order (a preview rendered, then a
model loaded) the process crashes.
"""

from __future__ import annotations

from reconstruct.learned.base import load_native_libraries

load_native_libraries()

from server.tasks import TASKS  # noqa: E402  (after the native libraries, on purpose)

__all__ = ["TASKS"]
