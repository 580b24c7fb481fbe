"""Build the sdist, unpack it, install it with its test extra, and run its own tests there.

The tox env `sdist` runs this, so a file the tests need that the sdist leaves out
(tests/conftest.py, setup.cfg, tox.ini, ...) fails CI instead of a user's build.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path


def run(*args: str, cwd: Path | None = None) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, check=True, cwd=cwd)


def main(work: Path) -> int:
    dist = work / "dist"
    run(sys.executable, "-m", "build", "--sdist", "--outdir", str(dist), ".")
    (sdist,) = dist.glob("tiktok_adapter-*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(work / "unpacked", filter="data")
    (source,) = (work / "unpacked").iterdir()
    run(sys.executable, "-m", "pip", "install", "--quiet", f"{source}[test]")
    # From the unpacked copy, the way a packager would run them.
    run(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "not failover",
        cwd=source,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
