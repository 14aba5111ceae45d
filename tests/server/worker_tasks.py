"""Tiny task table for the worker-pool tests (imported inside spawned workers)."""

import os
import signal
import time

from meshsmith.errors import InvalidInput


def square(x, emit):
    emit("square", 0.5, "half way")
    return x * x


def invalid(_, emit):
    raise InvalidInput("no good")


def crash(_, emit):
    os.kill(os.getpid(), signal.SIGKILL)


def sleep(seconds, emit):
    time.sleep(seconds)
    return seconds


def hog(megabytes, emit):
    """Touch `megabytes` of memory (a bomb that slipped past every input check)."""
    block = bytearray(megabytes * 2**20)
    return len(block)


TASKS = {"square": square, "invalid": invalid, "crash": crash, "sleep": sleep, "hog": hog}
