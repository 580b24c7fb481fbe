"""Run requests' own test suite twice: as released, then with TikTokAdapter in every Session.

The tox env `requests-suite` runs this with one argument, a scratch directory. The tests
come from the sdist of the requests that the env installed (its version pinned in
tox.ini), fetched with pip from the package index, so tests and library always match.
The first run (control) must pass: it proves the harness and the pins. The second loads
the same plugin with --tiktok-adapter (.ci/requests_suite_plugin.py), which mounts the
adapter on http:// and https:// of every Session. Exits 1 when either run fails.

The tests themselves stay on this machine: pytest-httpbin serves httpbin on loopback,
the few tests that reach further are deselected by the plugin, and where `unshare` can
make a network namespace with only loopback up, each run happens inside one.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# The namespace's loopback starts down; bring it up, then become pytest.
_IN_NAMESPACE = 'ip link set lo up && exec "$0" "$@"'
# Each run's name and the plugin's options for it.
RUNS = {"control": [], "with TikTokAdapter": ["--tiktok-adapter"]}


def run(args: list[str], **kwargs: Any) -> int:
    print("+", " ".join(args), flush=True)
    return subprocess.run(args, **kwargs).returncode


def fetch_tests(work: Path, version: str) -> Path:
    """Unpack the requests sdist of ``version``; returns its top directory."""
    dist = work / "dist"
    code = run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                "--no-binary", ":all:", "--dest", str(dist), f"requests=={version}"])  # fmt: skip
    if code:
        sys.exit(f"could not download the requests {version} sdist")
    (sdist,) = dist.glob(f"requests-{version}.tar.gz")
    unpacked = work / "unpacked"
    shutil.rmtree(unpacked, ignore_errors=True)
    with tarfile.open(sdist) as archive:
        archive.extractall(unpacked, filter="data")
    top = unpacked / f"requests-{version}"
    # Only the tests and the pytest settings are used: the sdist's own source (src/)
    # goes, so the installed requests is the one imported and tested.
    shutil.rmtree(top / "src")
    return top


def offline_prefix() -> list[str]:
    """A command prefix that runs in a network namespace with only loopback, or [] where
    one cannot be made (no unshare or ip, or not allowed): the deselections still hold."""
    if shutil.which("unshare") and shutil.which("ip"):
        probe = ["unshare", "--net", "--map-root-user", "sh", "-c", _IN_NAMESPACE, "true"]
        if subprocess.run(probe, capture_output=True).returncode == 0:
            return probe[:-1]
    print("no network namespace here: running with the deselections only", flush=True)
    return []


def main(work: Path) -> int:
    version = importlib.metadata.version("requests")
    top = fetch_tests(work, version)
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    pytest = [*offline_prefix(), sys.executable, "-m", "pytest", "-p", "requests_suite_plugin",
              "-p", "no:cacheprovider", "-q", "-rfE", "tests"]  # fmt: skip
    # Side by side: both mostly wait on their own httpbin (each run starts its own), and
    # the adapter's run takes longest (a timed-out GET goes again, see the plugin).
    runs = {}
    for name, extra in RUNS.items():
        log = (work / f"{extra[0] if extra else 'control'}.log").open("w+")
        print("+", *pytest, *extra, ">", log.name, flush=True)
        process = subprocess.Popen([*pytest, *extra], cwd=top, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)  # fmt: skip
        runs[name] = (process, log)
    results = {}
    for name, (process, log) in runs.items():
        results[name] = process.wait()
        with log:
            log.seek(0)
            print(f"\n=== requests {version}'s suite, {name} ===\n{log.read()}", flush=True)
    print()
    for name, code in results.items():
        print(f"requests {version}'s suite, {name}: {'passed' if code == 0 else 'FAILED'}")
    return 1 if any(results.values()) else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
