"""The table of tasks worker processes serve. Importing it warms the heavy imports."""

from __future__ import annotations

import pymeshlab  # noqa: F401  (import cost ~1 s: pay it once, at worker start)

from server import cutout_task, pipeline

TASKS = {
    "generate": pipeline.generate,
    "import": pipeline.import_mesh,
    "validate": pipeline.validate_mesh,
    "export": pipeline.export_mesh,
    "cutout": cutout_task.cutout,
}
