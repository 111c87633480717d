"""JSON-lines logging to stdout, as the original gateway logs (one object per line).

Everything a serving process prints goes through here, so log shippers never meet a plain
line: uvicorn's own loggers (via `log_config()`, which uvicorn applies in the supervisor and in
every worker), `warnings` (captured into logging), and exceptions nobody caught — in the main
thread, in other threads, and "exception ignored" reports (hooks below). asyncio's default
exception handler already reports through the `asyncio` logger, so it is JSON too.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import functools
import json
import logging
import logging.config
import multiprocessing.util
import queue
import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import TracebackType

__all__ = [
    "BackgroundStdoutHandler",
    "JsonFormatter",
    "log_config",
    "setup_logging",
    "write_line",
]

_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}

log = logging.getLogger("ongoingai")


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "msg", ...extra}`; exceptions as a string field.

    Every non-standard record attribute is emitted, so fields added by `extra=` or by a
    logging filter (trace_id/span_id from the OpenTelemetry filter) appear without changes here.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Render one record as a JSON object."""
        payload: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat()
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["error"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = record.stack_info
        return json.dumps(payload, default=str)


class _LineWriter:
    """One background thread that writes queued lines to stdout, many per write.

    Under load a line per request would be a write syscall per request; the thread drains
    whatever is queued and writes it at once. Lines are complete JSON objects, so batching
    never splits one. Drained at interpreter exit and at multiprocessing worker exit (uvicorn's
    workers run multiprocessing's finalizers, not atexit handlers).
    """

    def __init__(self) -> None:
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._thread.start()
        atexit.register(self.stop)
        multiprocessing.util.Finalize(None, self.stop, exitpriority=100)

    def put(self, line: str) -> None:
        """Queue one line (without its newline); never blocks."""
        self._lines.put(line)

    def _run(self) -> None:
        lines = self._lines
        while True:
            first = lines.get()
            batch = [first]
            with contextlib.suppress(queue.Empty):
                while len(batch) < 1024:
                    batch.append(lines.get_nowait())
            done = None in batch
            text = "".join(f"{line}\n" for line in batch if line is not None)
            with contextlib.suppress(OSError, ValueError):  # stdout closed: nothing to do
                sys.stdout.write(text)
                sys.stdout.flush()
            if done:
                return

    def stop(self) -> None:
        """Write everything queued, then end the thread (idempotent)."""
        if self._thread.is_alive():
            self._lines.put(None)
            self._thread.join(timeout=5)


@functools.cache
def _writer() -> _LineWriter:
    """The process's writer thread, started on first use (a racing second one is harmless)."""
    return _LineWriter()


def write_line(line: str) -> None:
    """Queue one finished JSON line for stdout (the request log's fast path)."""
    _writer().put(line)


class BackgroundStdoutHandler(logging.Handler):
    """Formats each record where it is logged, writes it to stdout from a background thread.

    A request's log line must never wait on a slow or full stdout pipe in the event loop: the
    JSON line is built in the caller (so span ids and exception text are those of the moment)
    and queued for the process's writer thread.
    """

    def emit(self, record: logging.LogRecord) -> None:
        """Format in the caller, write in the background."""
        try:
            write_line(self.format(record))
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)


def log_config(level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` dict: one JSON handler on stdout, uvicorn's loggers into it.

    uvicorn applies it itself (its `log_config`), in the supervisor and again in each worker
    process it spawns, which is why it is data rather than code run once.
    """
    passthrough = {"handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stdout": {
                "()": BackgroundStdoutHandler,
                "formatter": "json",
            }
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            "uvicorn": {**passthrough, "level": level},
            "uvicorn.error": dict(passthrough),
            # Off: `RequestLog` writes the contract's `request complete` line per request,
            # and uvicorn logs access whenever this logger can reach a handler.
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }


def setup_logging(level: int = logging.INFO) -> None:
    """Send every log record, warning and uncaught exception to stdout as JSON."""
    logging.config.dictConfig(log_config(logging.getLevelName(level)))
    logging.captureWarnings(True)
    sys.excepthook = _uncaught
    threading.excepthook = _uncaught_in_thread
    sys.unraisablehook = _unraisable


def _uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        return
    log.critical("uncaught exception", exc_info=(kind, exc, tb))


def _uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    thread = args.thread.name if args.thread is not None else ""
    log.error(
        "uncaught exception in thread",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        extra={"thread_name": thread},
    )


def _unraisable(args: sys.UnraisableHookArgs) -> None:
    exc = args.exc_value
    info = (type(exc), exc, args.exc_traceback) if exc is not None else None
    log.warning(
        args.err_msg or "exception ignored",
        exc_info=info,
        extra={"object": repr(args.object)},
    )
