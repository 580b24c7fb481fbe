"""A head start for commands that mostly wait on real time.

The benchmarks' tiny run (tests/test_benchmarks_quick.py) waits out one-second windows
against a loopback server for about 15 s, and the README's first command, the demo, runs
six simulated minutes at x60 for about 7 s; each uses a small part of one core. A test
module registers such a command here (:func:`job`) and marks the tests that read its
outcome with ``pytest.mark.head_start(key)``. When collection ends, tests/conftest.py
starts every job a selected test needs, in the background, and moves the marked tests
to the end of the run: the command runs beside the rest of the suite, and its tests
usually find it finished.

It is the same command, run once, in a folder of its own; its tests assert what they
asserted when they ran it themselves. A job no marked test needs never starts, and
:func:`stop_all` ends the ones still running (with every process they started) when the
session ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

MARKER = "head_start"


class Job:
    """One command: started at most once, its outcome read by any number of tests."""

    def __init__(
        self,
        key: str,
        argv: Callable[[Path], list[str]],
        *,
        timeout: float,
        env: Mapping[str, str] | Callable[[Path], Mapping[str, str]] | None = None,
        files: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.key, self.timeout = key, timeout
        self._argv, self._env, self._files, self._cwd = argv, env, dict(files or {}), cwd
        self.folder: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._started = 0.0
        self._done: subprocess.CompletedProcess[str] | None = None

    def start(self) -> None:
        """Start the command in a fresh folder (its working directory unless ``cwd``
        names another), once."""
        if self._process is not None:
            return
        self.folder = Path(tempfile.mkdtemp(prefix=f"head-start-{self.key}-"))
        for name, text in self._files.items():
            (self.folder / name).write_text(text)
        # Output goes to files, not pipes: nobody reads a pipe until the test runs.
        out = (self.folder / ".stdout").open("wb")
        err = (self.folder / ".stderr").open("wb")
        env = self._env(self.folder) if callable(self._env) else self._env
        try:
            self._process = subprocess.Popen(
                self._argv(self.folder),
                cwd=self._cwd or self.folder,
                env=None if env is None else dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own process group, ended as one
            )
        finally:
            out.close()
            err.close()
        self._started = time.monotonic()

    def result(self) -> subprocess.CompletedProcess[str]:
        """Wait for the command (started now if nothing started it) and return its outcome,
        as ``subprocess.run(..., capture_output=True, text=True, timeout=...)`` would."""
        if self._done is not None:
            return self._done
        self.start()
        assert self._process is not None and self.folder is not None
        left = self._started + self.timeout - time.monotonic()
        try:
            code = self._process.wait(timeout=max(left, 0.0))
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        read = (self.folder / ".stdout").read_text(), (self.folder / ".stderr").read_text()
        self._done = subprocess.CompletedProcess(self._process.args, code, *read)
        return self._done

    def stop(self) -> None:
        """End the command and every process it started, if it still runs."""
        process = self._process
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)


JOBS: dict[str, Job] = {}


def job(
    key: str,
    argv: Callable[[Path], list[str]],
    *,
    timeout: float,
    env: Mapping[str, str] | Callable[[Path], Mapping[str, str]] | None = None,
    files: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Job:
    """Register the command ``argv(folder)`` under ``key`` (once: a second call returns
    the first job); mark the tests that read it with ``pytest.mark.head_start(key)``.
    ``env`` may be built from the job's folder."""
    if key not in JOBS:
        JOBS[key] = Job(key, argv, timeout=timeout, env=env, files=files, cwd=cwd)
    return JOBS[key]


def stop_all() -> None:
    for started in JOBS.values():
        started.stop()  # a test that stopped early left it running
        if started.folder is not None:
            shutil.rmtree(started.folder, ignore_errors=True)
