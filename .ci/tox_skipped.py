"""Name the tox envs that cannot run here for want of their interpreter.

tox marks such an env SKIP and still ends with "congratulations"; the `interpreters`
env of tox.ini runs this last, so that the summary says what did not run. Arguments
are env names (py310-latest, py311-redis, ...); each is looked up the way tox does,
with virtualenv's interpreter discovery. When any is missing it exits 1 in CI (CI=true,
as the test suite reads it), failing the run, and 0 elsewhere, where it only tells.
"""

from __future__ import annotations

import os
import re
import sys

from virtualenv.discovery.builtin import get_interpreter

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def main(envs: list[str]) -> int:
    versions = {}
    for env in envs:
        match = re.match(r"py3(\d+)", env)
        if match:
            versions[env] = f"3.{match.group(1)}"
    found = {v: get_interpreter(f"python{v}", []) is not None for v in set(versions.values())}
    skipped = [env for env, version in versions.items() if not found[version]]
    if not skipped:
        print("every interpreter of the matrix is installed: no env was skipped")
        return 0
    missing = ", ".join(f"python{v}" for v in sorted(found) if not found[v])
    print(f"SKIPPED, NOT RUN ({missing} not found): {', '.join(skipped)}")
    if IN_CI:
        print("In CI every env of the matrix must run: install those interpreters (with pyenv,")
        print("list their versions in PYENV_VERSION, as .ci/run does).")
        return 1
    print("Their SKIP in the summary below is not a pass: install those interpreters to run them.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
