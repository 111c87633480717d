"""Read what a gateway process stored, with the project's own TraceReader, from a test."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ongoingai.engine.storage import TraceReader, create_engine_for
from ongoingai.engine.trace import TraceRecord
from tests.postgres_admin import run_in_thread


@dataclass(frozen=True)
class Backend:
    """A storage backend for a gateway under test, and how to read its traces back."""

    driver: str
    path: str = ""
    dsn: str = ""

    @property
    def env(self) -> dict[str, str]:
        if self.driver == "sqlite":
            return {"ONGOINGAI_STORAGE_DRIVER": "sqlite", "ONGOINGAI_STORAGE_PATH": self.path}
        return {"ONGOINGAI_STORAGE_DRIVER": "postgres", "ONGOINGAI_STORAGE_DSN": self.dsn}

    def read(self, limit: int = 200) -> list[TraceRecord]:
        """Every stored trace, newest first."""

        async def read() -> list[TraceRecord]:
            engine = create_engine_for(self.driver, self.path, self.dsn)
            try:
                return await TraceReader(engine).list_recent(limit)
            finally:
                await engine.dispose()

        return run_in_thread(read)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[TraceRecord]:
        """Poll until at least `count` traces are stored (the writer flushes in the background)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.read()
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)
