"""setup_logging: warnings and exceptions nobody caught come out as JSON lines too."""

from __future__ import annotations

import json
import subprocess
import sys

_SCRIPT = """
import asyncio, logging, threading, warnings
from ongoingai.engine.logs import setup_logging
setup_logging()
logging.getLogger("x").info("with extra", extra={"trace_id": "abc"})
warnings.warn("careful", UserWarning)
t = threading.Thread(target=lambda: 1 / 0, name="worker-1")
t.start(); t.join()
async def main():
    asyncio.get_running_loop().call_soon(lambda: 1 / 0)
    await asyncio.sleep(0.01)
asyncio.run(main())
raise RuntimeError("boom")
"""


def test_every_line_is_json() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=False
    )
    assert out.returncode == 1
    lines = (out.stdout + out.stderr).splitlines()
    records = [json.loads(line) for line in lines]
    by_msg = {r["msg"]: r for r in records}
    assert by_msg["with extra"]["trace_id"] == "abc"
    assert any("careful" in r["msg"] and r["logger"] == "py.warnings" for r in records)
    thread = by_msg["uncaught exception in thread"]
    assert thread["thread_name"] == "worker-1"
    assert "ZeroDivisionError" in thread["error"]
    assert any(r["logger"] == "asyncio" and "ZeroDivisionError" in r["error"] for r in records)
    assert "RuntimeError: boom" in by_msg["uncaught exception"]["error"]
