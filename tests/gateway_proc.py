"""Run the real `ongoingai serve` in a subprocess for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

ONGOINGAI = str(Path(sys.executable).with_name("ongoingai"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class GatewayProcess:
    """`ongoingai serve` on a free port, with a clean environment of our choosing."""

    def __init__(
        self,
        workdir: Path,
        env: Mapping[str, str] | None = None,
        config: str | None = "ongoingai.yaml",
        port: int | None = None,
        executable: str = ONGOINGAI,
    ) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("ONGOINGAI_", "OTEL_"))}
        base.update({"ONGOINGAI_HOST": "127.0.0.1", "ONGOINGAI_PORT": str(self.port)})
        if port is not None and env is not None and "ONGOINGAI_PORT" not in env:
            base.pop("ONGOINGAI_PORT")
        base.update(env or {})
        self.env = base
        self.args = [executable, "serve"] + (["--config", config] if config else [])
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "gateway.log"

    def start(self, timeout: float = 20.0) -> GatewayProcess:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.args, cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited {self.proc.returncode}: {self.log()}")
            try:
                if httpx.get(self.url + "/api/ready", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"gateway did not become ready: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def __enter__(self) -> GatewayProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
