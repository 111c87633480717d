"""`ongoingai serve`: build the first snapshot, then run uvicorn (uvloop + httptools).

With `server.workers > 1` uvicorn's supervisor runs that many worker processes on one
listening socket. Each worker rebuilds its own runtime from the config path (uvicorn spawns
workers fresh, so the app comes from the `worker_app` factory, named by import string), and
so has its own upstream pool, trace writer and config watcher. What that means per process:
SQLite is shared safely (WAL, busy retries), rate-limit windows are per worker on SQLite and
shared on PostgreSQL, and Prometheus values go to a multiprocess directory created here for the
server's lifetime, so a scrape of any worker shows the whole server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from ongoingai.engine.app import create_app
from ongoingai.engine.logs import log_config, setup_logging
from ongoingai.engine.request_log import RequestLog
from ongoingai.engine.runtime import Runtime
from ongoingai.engine.snapshot_build import SnapshotInvalid, build_snapshot
from ongoingai.engine.storage import apply_migrations, create_engine_for, redact_dsn
from ongoingai.engine.telemetry.prometheus import MULTIPROC_ENV
from ongoingai.engine.version import version_string

if TYPE_CHECKING:
    from types import FrameType

    from ongoingai.engine.config import GatewayConfig
    from ongoingai.engine.snapshot import PolicySnapshot

__all__ = ["WORKER_CONFIG_ENV", "serve", "worker_app"]

log = logging.getLogger("ongoingai")

#: How the supervisor tells spawned workers which config to load.
WORKER_CONFIG_ENV = "ONGOINGAI_SERVE_CONFIG"
_WORKER_FACTORY = "ongoingai.engine.serve:worker_app"


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
    _log_banner(config_path, snapshot)
    if snapshot.config.server.workers > 1:
        return _serve_workers(config_path, snapshot.config)
    runtime = Runtime(config_path, inputs, snapshot)
    app = create_app(runtime)
    server = uvicorn.Server(_uvicorn_config(RequestLog(app), snapshot.config))
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


def worker_app() -> RequestLog:
    """The app factory uvicorn runs in each worker process: the same runtime `serve` builds.

    A config that became invalid since the supervisor checked it ends the worker with
    uvicorn's startup-failure code, which stops the supervisor instead of respawning forever.
    """
    from ongoingai.engine.cli import build_inputs

    setup_logging()
    config_path = Path(os.environ[WORKER_CONFIG_ENV])
    inputs = build_inputs()
    try:
        snapshot = build_snapshot(config_path, inputs)
    except SnapshotInvalid as exc:
        for problem in exc.problems:
            log.error("config is invalid: %s", problem.render())
        sys.exit(STARTUP_FAILURE)
    return RequestLog(create_app(Runtime(config_path, inputs, snapshot)))


def _serve_workers(config_path: Path, cfg: GatewayConfig) -> int:
    """Run `server.workers` processes under uvicorn's supervisor until SIGINT/SIGTERM."""
    if not asyncio.run(_migrate(cfg)):
        return 1
    metrics_dir = tempfile.mkdtemp(prefix="ongoingai-prometheus-")
    # Inherited by the spawned workers, which import prometheus-client fresh and so pick
    # multiprocess mode up; a stale directory from another run would add its counts, hence new.
    os.environ[MULTIPROC_ENV] = metrics_dir
    os.environ[WORKER_CONFIG_ENV] = str(config_path)
    config = _uvicorn_config(_WORKER_FACTORY, cfg, factory=True, workers=cfg.server.workers)
    try:
        try:
            sock = config.bind_socket()
        except SystemExit:  # uvicorn logged why (address in use, permission)
            return 1
        supervisor = Multiprocess(config, sockets=[sock])
        try:
            supervisor.run()
        finally:
            sock.close()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
        os.environ.pop(MULTIPROC_ENV, None)
    if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes):
        return 1
    log.info("gateway stopped")
    return 0


async def _migrate(cfg: GatewayConfig) -> bool:
    """Bring the schema up once, before workers race to do it; False (reported) on failure."""
    storage = cfg.storage
    driver = storage.driver.strip()
    target = storage.path if driver == "sqlite" else redact_dsn(storage.dsn)
    try:
        engine = create_engine_for(driver, storage.path, storage.dsn)
        try:
            await apply_migrations(engine)
        finally:
            await engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any storage failure ends startup with exit 1
        sys.stderr.write(f"failed to initialize {driver} storage ({target}): {exc}\n")
        return False
    return True


def _uvicorn_config(app: Any, cfg: GatewayConfig, **extra: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=cfg.server.host,
        port=cfg.server.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        # JSON lines from uvicorn too, applied again in every worker it spawns; the access
        # log stays off because RequestLog writes the contract's `request complete` line.
        log_config=log_config(),
        access_log=False,
        timeout_graceful_shutdown=5,
        timeout_keep_alive=120,
        # The gateway appends the peer to X-Forwarded-For itself, as a reverse proxy does;
        # uvicorn rewriting the peer from that header would duplicate it in the chain.
        proxy_headers=False,
        server_header=False,  # relay the upstream's Server and Date headers unchanged
        date_header=False,
        **extra,
    )


def _log_banner(config_path: Path, snapshot: PolicySnapshot) -> None:
    cfg = snapshot.config
    otel = cfg.observability.otel
    log.info(
        "startup banner",
        extra={
            "version": version_string(),
            "addr": cfg.server.host,
            "port": cfg.server.port,
            "workers": cfg.server.workers,
            "storage_driver": cfg.storage.driver,
            "providers": [f"{p.name}:{p.prefix}->{p.upstream}" for p in snapshot.providers],
            "config_path": str(config_path),
            "policy_revision": snapshot.revision,
            "auth_enabled": cfg.auth.enabled,
            "prometheus_enabled": otel.enabled and otel.prometheus_enabled,
            "prometheus_path": otel.prometheus_path,
        },
    )


def _ignore_signal(_sig: int, _frame: FrameType | None) -> None:
    """Placeholder handler restored by uvicorn after a graceful shutdown."""
