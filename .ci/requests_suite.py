"""Run requests' own test suite twice: as released, then with TikTokAdapter in every Session.

The tox env `requests-suite` runs this with a scratch directory and the sha256 of the
sdist. The tests come from the sdist of the requests that the env installed (its version
pinned in tox.ini), fetched with pip from the package index, so tests and library always
match; the archive must have that sha256, so the snapshot is the pinned one byte for byte.
The first run (control) must pass: it proves the harness and the pins. The second loads
the same plugin with --tiktok-adapter (.ci/requests_suite_plugin.py), which mounts the
adapter on http:// and https:// of every Session. Exits 1 when either run fails.

The tests themselves stay on this machine: pytest-httpbin serves httpbin on loopback,
the few tests that reach further are deselected by the plugin, and the plugin refuses (and
fails the test for) any other connect or DNS lookup that would leave it. Where `unshare`
can make a network namespace with only loopback up, each run happens inside one as well.
Anything that keeps the suite from running (download, hash, collection) fails the env.
"""

from __future__ import annotations

import argparse
import hashlib
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


def fetch_tests(work: Path, version: str, sha256: str) -> Path:
    """Unpack the requests sdist of ``version``, checked against ``sha256``; returns its
    top directory."""
    dist = work / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    code = run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                "--no-binary", ":all:", "--dest", str(dist), f"requests=={version}"])  # fmt: skip
    if code:
        sys.exit(f"could not download the requests {version} sdist")
    (sdist,) = dist.glob(f"requests-{version}.tar.gz")
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != sha256.lower():
        sys.exit(
            f"{sdist.name} has sha256 {digest}, not the pinned {sha256}: "
            "update the pin and its sha256 together in tox.ini"
        )
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
            print("each run in a network namespace with only loopback", flush=True)
            return probe[:-1]
    print("no network namespace here: the plugin alone keeps the runs offline", flush=True)
    return []


def main(work: Path, sha256: str) -> int:
    version = importlib.metadata.version("requests")
    top = fetch_tests(work, version, sha256)
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    pytest = [*offline_prefix(), sys.executable, "-m", "pytest", "-p", "requests_suite_plugin",
              "-p", "no:cacheprovider", "-q", "-rfEs", "tests"]  # fmt: skip
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
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("work", type=Path, help="a scratch directory")
    parser.add_argument("--sha256", required=True, help="of the pinned requests sdist")
    arguments = parser.parse_args()
    sys.exit(main(arguments.work, arguments.sha256))
