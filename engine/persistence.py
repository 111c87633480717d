"""Storage for a serving gateway: engine, migrations, trace writer, reader and retention.

Opened once by the app lifespan from the settings read at start (storage needs a restart to
change, SPEC §2), shared by every snapshot through `Services`.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from ongoingai.engine.storage import (
    RetentionTask,
    TraceReader,
    TraceWriter,
    apply_migrations,
    create_engine_for,
    redact_dsn,
)
from ongoingai.engine.storage.gateway_keys import GatewayKeyStore
from ongoingai.engine.storage.trace_queries import TraceQueries

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ongoingai.engine.config import GatewayConfig

__all__ = ["Persistence", "StorageStartupError"]

log = logging.getLogger("ongoingai.storage")

#: How long shutdown waits for queued traces to reach storage (contract: 5 s).
FLUSH_BUDGET_S = 5.0


class StorageStartupError(Exception):
    """Storage could not be opened or migrated; `serve` exits 1 with this message."""


class Persistence:
    """Owns the database engine and the objects that use it."""

    def __init__(self, engine: AsyncEngine, writer: TraceWriter, retention: RetentionTask) -> None:
        self.engine = engine
        self.writer = writer
        self.reader = TraceReader(engine)
        self.queries = TraceQueries(engine)
        self.keys = GatewayKeyStore(engine)
        self._retention = retention

    @classmethod
    async def open(cls, config: GatewayConfig) -> Persistence:
        """Create the engine, apply migrations, start the writer and the retention task.

        Raises:
            StorageStartupError: with the original's message (`failed to initialize ...`).
        """
        storage = config.storage
        driver = storage.driver.strip()
        target = storage.path if driver == "sqlite" else redact_dsn(storage.dsn)
        message = f"failed to initialize {driver} storage ({target})"
        try:
            engine = create_engine_for(driver, storage.path, storage.dsn)
        except Exception as exc:
            raise StorageStartupError(f"{message}: {exc}") from exc
        try:
            applied = await apply_migrations(engine)
        except Exception as exc:
            await engine.dispose()  # do not leak the pool of an engine nobody will use
            raise StorageStartupError(f"{message}: {exc}") from exc
        tracing = config.tracing
        writer = TraceWriter(
            engine,
            capacity=tracing.queue_capacity,
            batch_size=tracing.batch_size,
            flush_interval_ms=tracing.flush_interval_ms,
            driver=driver,
        )
        writer.start()
        retention = RetentionTask(engine, storage.retention_days)
        retention.start()
        log.info("storage ready", extra={"storage_driver": driver, "migrations_applied": applied})
        return cls(engine, writer, retention)

    async def close(self) -> None:
        """Flush queued traces within the budget, stop retention, release connections."""
        await self._retention.stop()
        started = time.monotonic()
        flushed = await self.writer.close(FLUSH_BUDGET_S)
        took_ms = int((time.monotonic() - started) * 1000)
        if flushed:
            log.info("flushed pending traces before shutdown", extra={"duration_ms": took_ms})
        else:
            log.error("failed to flush pending traces before shutdown", extra={"timeout": "5s"})
        await self.engine.dispose()
