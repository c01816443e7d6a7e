"""The emulator's clock: real time plus an offset the tests can advance.

Jobs end, recovery points expire by their lifecycle and restore testing plans run at their
scheduled times against this clock, so a test can move it forward by days instead of waiting
(POST /_emulator/clock {"advance_seconds": N}). Each emulator process has
its own clock; nothing in AWS can be steered like this, so only the emulator's own tests use it.
"""

from __future__ import annotations

import threading
import time


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()
