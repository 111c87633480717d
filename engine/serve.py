"""`ongoingai serve`: build the first snapshot, then run uvicorn (uvloop + httptools)."""

from __future__ import annotations

import logging
import signal
import sys
from typing import TYPE_CHECKING

import uvicorn

from ongoingai.engine.app import create_app
from ongoingai.engine.logs import setup_logging
from ongoingai.engine.runtime import Runtime
from ongoingai.engine.snapshot_build import SnapshotInvalid, build_snapshot
from ongoingai.engine.version import version_string

if TYPE_CHECKING:
    from pathlib import Path
    from types import FrameType

__all__ = ["serve"]

log = logging.getLogger("ongoingai")


def serve(config_path: Path) -> int:
    """Run until SIGINT/SIGTERM; 0 after a clean shutdown, 1 if startup fails."""
    from ongoingai.engine.cli import build_inputs

    setup_logging()
    inputs = build_inputs()
    try:
        snapshot = build_snapshot(config_path, inputs)
    except SnapshotInvalid as exc:
        sys.stderr.write(f"config is invalid: {len(exc.problems)} problem(s)\n")
        for problem in exc.problems:
            sys.stderr.write(problem.render() + "\n")
        return 1
    runtime = Runtime(config_path, inputs, snapshot)
    app = create_app(runtime)
    cfg = snapshot.config
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=cfg.server.host,
            port=cfg.server.port,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=5,
            timeout_keep_alive=120,
            # The gateway appends the peer to X-Forwarded-For itself, as a reverse proxy does;
            # uvicorn rewriting the peer from that header would duplicate it in the chain.
            proxy_headers=False,
            server_header=False,  # relay the upstream's Server and Date headers unchanged
            date_header=False,
        )
    )
    log.info(
        "startup banner",
        extra={
            "version": version_string(),
            "addr": cfg.server.host,
            "port": cfg.server.port,
            "storage_driver": cfg.storage.driver,
            "providers": [f"{p.name}:{p.prefix}->{p.upstream}" for p in snapshot.providers],
            "config_path": str(config_path),
            "policy_revision": snapshot.revision,
            "auth_enabled": cfg.auth.enabled,
        },
    )
    # uvicorn re-raises the signal it shut down for once it restores the previous handlers;
    # make those no-ops so a clean SIGTERM/SIGINT shutdown exits 0 (SPEC §7.11).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _ignore_signal)
    # server.run() installs the configured loop (uvloop); asyncio.run(server.serve()) would
    # silently run on the default loop, ~20% more CPU per request (bench/README.md).
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits 3 on a failed startup, 1 when it cannot bind
        if exc.code not in (0, None):
            server.started = False
    if not server.started:
        if app.startup_error:
            sys.stderr.write(app.startup_error + "\n")
        return 1
    log.info("gateway stopped")
    return 0


def _ignore_signal(_sig: int, _frame: FrameType | None) -> None:
    """Placeholder handler restored by uvicorn after a graceful shutdown."""
