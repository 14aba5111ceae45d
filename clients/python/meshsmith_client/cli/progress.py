"""A one-line live progress bar on stderr, fed by a job's events."""

from __future__ import annotations

import sys


class ProgressBar:
    def __init__(self, stream=sys.stderr, width: int = 30):
        self.stream = stream
        self.width = width
        self.live = stream.isatty()

    def update(self, event) -> None:
        if event.stage == "preview" and event.HasField("preview"):
            return
        filled = int(round(event.fraction * self.width))
        bar = "#" * filled + "." * (self.width - filled)
        line = f"[{bar}] {event.fraction:4.0%} {event.elapsed_ms / 1000:5.1f}s {event.stage}: {event.message}"
        if self.live:
            self.stream.write("\r\x1b[2K" + line[:160])
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()
