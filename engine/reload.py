"""Watch `ongoingai.yaml` and the policy directory; rebuild and swap on every change.

The config file's parent directory is watched without recursion (editors replace files by
rename, which a watch on the file itself would miss); the policy directory is watched
recursively. Both feed `Runtime.reload`, which serialises builds.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import watchfiles

from ongoingai.engine.snapshot_build import user_policy_dir

if TYPE_CHECKING:
    from collections.abc import Callable

    from ongoingai.engine.runtime import Runtime

__all__ = ["watch_config"]

_DEBOUNCE_MS = 150
_SUFFIXES = (".yaml", ".yml")


async def watch_config(runtime: Runtime, stop: asyncio.Event) -> None:
    """Reload on changes until `stop` is set."""
    await asyncio.gather(_watch_config_file(runtime, stop), _watch_policy_dir(runtime, stop))


async def _watch_config_file(runtime: Runtime, stop: asyncio.Event) -> None:
    config_path = runtime.config_path.resolve()

    def relevant(_change: watchfiles.Change, path: str) -> bool:
        return Path(path) == config_path

    await _watch(config_path.parent, False, relevant, runtime, stop, lambda: False)


async def _watch_policy_dir(runtime: Runtime, stop: asyncio.Event) -> None:
    """Watch the current `policies:` directory; re-arm when the config points elsewhere."""
    while not stop.is_set():
        current = runtime.snapshot.config.policies
        directory = user_policy_dir(runtime.config_path, current)
        if directory is None or not directory.is_dir():
            await _wait_for_change(runtime, stop, current)
            continue
        root = directory.resolve()

        def relevant(_change: watchfiles.Change, path: str, root: Path = root) -> bool:
            return path.endswith(_SUFFIXES) and Path(path).is_relative_to(root)

        def moved(current: str | None = current) -> bool:
            return runtime.snapshot.config.policies != current

        await _watch(root, True, relevant, runtime, stop, moved)


async def _watch(
    root: Path,
    recursive: bool,
    relevant: Callable[[watchfiles.Change, str], bool],
    runtime: Runtime,
    stop: asyncio.Event,
    rearm: Callable[[], bool],
) -> None:
    async for _changes in watchfiles.awatch(
        root,
        watch_filter=relevant,
        stop_event=stop,
        debounce=_DEBOUNCE_MS,
        step=50,
        recursive=recursive,
        rust_timeout=500,
    ):
        await runtime.reload()
        if rearm():
            return


async def _wait_for_change(runtime: Runtime, stop: asyncio.Event, current: str | None) -> None:
    """No policy directory to watch: poll cheaply until the config names another one."""
    while not stop.is_set() and runtime.snapshot.config.policies == current:
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            continue
