"""The architecture holds: no import cycles, and a core that runs without requests."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import tiktok_adapter

PACKAGE = Path(tiktok_adapter.__file__).parent


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["tiktok_adapter", *path.relative_to(PACKAGE).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _imports(name: str, path: Path, is_package: bool, known: set[str]) -> set[str]:
    """Every module of the package that ``name`` imports, at any depth of its code,
    except under ``if TYPE_CHECKING:``, which never runs."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for sub in ast.walk(node)
    }
    base = name.split(".") if is_package else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                stem = base[: len(base) - node.level + 1]
                module = ".".join([*stem, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            targets = [f"{module}.{alias.name}" for alias in node.names] + [module]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def test_the_package_has_no_import_cycle() -> None:
    modules = _modules()
    known = set(modules)
    graph = {name: _imports(name, *where, known) for name, where in modules.items()}
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_cycle_check_sees_function_level_imports(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f():\n    from . import b\n")
    known = {"pkg.a", "pkg.b"}
    assert _imports("pkg.a", tmp_path / "a.py", False, known) == {"pkg.b"}


BLOCKED = """
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {"requests", "urllib3", "httpx", "requests_cache"}:
            raise ImportError(f"{name} is blocked")

sys.meta_path.insert(0, Block())
import pytest

import tiktok_adapter
from tiktok_adapter import Priority, Settings
from tiktok_adapter.testing import FakeClock
from tiktok_adapter.engine.limiter import Limiter
from tiktok_adapter.core import decide, identity, refusal, routes
from tiktok_adapter.core.rates import parse_rates

limiter = Limiter(Settings(), FakeClock(), errors=lambda problem, request: RuntimeError(problem))
route = limiter.resolve("https://open.tiktokapis.com/v2/video/query/?fields=id")
assert route.name == "/video/query/", route
assert parse_rates("10/minute", "x")[0].amount == 10
loaded = sorted(m for m in sys.modules if m.partition(".")[0] in {"requests", "urllib3"})
assert not loaded, loaded
print("core without requests: ok")
"""


@pytest.mark.beside  # waits on processes of its own: run beside the others (tests/beside.py)
def test_the_core_runs_without_requests() -> None:
    result = subprocess.run([sys.executable, "-c", BLOCKED], capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_the_cli_uses_only_the_simulators_public_names() -> None:
    modules = _modules()
    known = set(modules)
    reaching_in = {
        name: sorted(t for t in _imports(name, *modules[name], known) if ".testing._" in t)
        for name in known
        if name.startswith("tiktok_adapter.cli")
    }
    assert {name: found for name, found in reaching_in.items() if found} == {}


# What the core may import beside the standard library and itself; and what in the
# standard library starts a thread or a process, or talks to a network or a store.
CORE_MAY_IMPORT = frozenset({"limits"})
CORE_MAY_NOT_IMPORT = frozenset({
    "_thread", "asyncio", "concurrent", "multiprocessing", "selectors", "socket", "sqlite3",
    "ssl", "subprocess", "http", "urllib.request",
})  # fmt: skip
THREAD_STARTERS = frozenset({"Thread", "Timer"})


def _core_problems(name: str, path: Path, is_package: bool) -> list[str]:
    """What in one core module reaches outside the core or starts a thread: every import,
    ``if TYPE_CHECKING:`` ones included, must name the standard library, ``limits`` or
    the core; and no ``threading.Thread`` or ``Timer``, however it is reached."""
    tree = ast.parse(path.read_text())
    base = name.split(".") if is_package else name.split(".")[:-1]
    problems = []
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                stem = ".".join(base[: len(base) - node.level + 1])
                # ``from .. import x`` imports the module x of that package
                modules = ([f"{stem}.{node.module}"] if node.module
                           else [f"{stem}.{alias.name}" for alias in node.names])  # fmt: skip
            else:
                modules = [node.module or ""]
            if modules[0] == "threading":
                problems += [f"{name}: threading.{a.name}" for a in node.names
                             if a.name in THREAD_STARTERS]  # fmt: skip
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in THREAD_STARTERS
            and isinstance(node.value, ast.Name)
            and node.value.id == "threading"
        ):
            problems.append(f"{name}: threading.{node.attr}")
        for module in modules:
            top = module.partition(".")[0]
            inside = module == "tiktok_adapter.core" or module.startswith("tiktok_adapter.core.")
            stdlib = top in sys.stdlib_module_names
            forbidden = any(module == m or module.startswith(m + ".") for m in CORE_MAY_NOT_IMPORT)
            if forbidden or not (inside or stdlib or top in CORE_MAY_IMPORT):
                problems.append(f"{name}: imports {module}")
    return problems


def test_the_core_imports_only_the_standard_library_and_limits_and_starts_no_thread() -> None:
    """The core is rules and values: it may hold locks over its own state, but it starts
    no thread and imports nothing of the package outside itself, so nothing it does can
    wait on a store, a network or a transport."""
    modules = _modules()
    inside = ["tiktok_adapter", "core"]
    core = {n: where for n, where in modules.items() if n.split(".")[:2] == inside}
    assert "tiktok_adapter.core.rates" in core  # the walk found the core
    problems = [p for name, where in sorted(core.items()) for p in _core_problems(name, *where)]
    assert problems == []


def test_the_core_check_sees_what_leaves_the_core(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "import threading, json, limits\nfrom threading import Lock\nfrom . import rates\n"
        "from .. import exceptions\nimport requests\nfrom threading import Thread\n"
        "import concurrent.futures\ndef f():\n    threading.Timer(1, f).start()\n"
    )
    found = _core_problems("tiktok_adapter.core.m", tmp_path / "m.py", False)
    assert sorted(found) == [
        "tiktok_adapter.core.m: imports concurrent.futures",
        "tiktok_adapter.core.m: imports requests",
        "tiktok_adapter.core.m: imports tiktok_adapter.exceptions",
        "tiktok_adapter.core.m: threading.Thread",
        "tiktok_adapter.core.m: threading.Timer",
    ]


# -- between packages: the graph of subpackages and top-level modules ----------------------


def _unit(module: str) -> str:
    """The package-level node of ``module``: ``tiktok_adapter.core.rates`` is in
    ``tiktok_adapter.core``, ``tiktok_adapter.adapter`` is itself; the root is the root."""
    return ".".join(module.split(".")[:2])


def _package_cycles(graph: dict[str, set[str]]) -> list[str]:
    """Every import between two package-level nodes that lie on a cycle of such nodes,
    as ``importer -> imported``, sorted (an empty list when there is no cycle)."""
    edges: dict[str, set[str]] = {}
    for name, targets in graph.items():
        for target in targets:
            if _unit(name) != _unit(target):
                edges.setdefault(_unit(name), set()).add(_unit(target))

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(edges.get(node, ()))
        return False

    return sorted(
        f"{name} -> {target}"
        for name, targets in graph.items()
        for target in targets
        if _unit(name) != _unit(target) and reaches(_unit(target), _unit(name))
    )


def _private_reaches(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a private module (a name with a leading underscore) from outside
    the package that holds it, as ``importer -> imported``, sorted."""
    found = []
    for name, targets in graph.items():
        for target in targets:
            parts = target.split(".")
            for i, part in enumerate(parts):
                owner = ".".join(parts[:i])
                private = part.startswith("_") and not part.startswith("__")
                if private and name != owner and not name.startswith(owner + "."):
                    found.append(f"{name} -> {target}")
                    break
    return sorted(found)


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, *where, known) for name, where in modules.items()}


def test_no_cycle_between_packages() -> None:
    assert _package_cycles(_graph()) == []


def test_no_package_imports_another_packages_private_module() -> None:
    assert _private_reaches(_graph()) == []


def test_the_package_checks_see_a_cycle_and_a_private_reach() -> None:
    graph = {
        "pkg.a.one": {"pkg.b.two", "pkg.a._own"},  # its own private module: fine
        "pkg.a._own": set(),
        "pkg.b.two": {"pkg.c"},
        "pkg.c": {"pkg.a._own", "pkg.d"},  # another package's private module
        "pkg.d": {"pkg.e._inner.x"},  # a module under another package's private one
        "pkg.e._inner.x": set(),
    }
    assert _package_cycles(graph) == [
        "pkg.a.one -> pkg.b.two",
        "pkg.b.two -> pkg.c",
        "pkg.c -> pkg.a._own",
    ]
    assert _private_reaches(graph) == ["pkg.c -> pkg.a._own", "pkg.d -> pkg.e._inner.x"]
    del graph["pkg.c"]
    assert _package_cycles(graph) == []


# Underscored names that their owners document as public: namedtuple's ``_replace``,
# ``sys._current_frames`` and ``sys._is_gil_enabled``, an Enum member's ``_value_``.
DOCUMENTED_UNDERSCORED = frozenset({"_replace", "_current_frames", "_is_gil_enabled", "_value_"})


def _foreign_private_reads(trees: dict[str, ast.Module]) -> list[str]:
    """``x._name`` (or ``getattr(x, "_name")``) where no module of ours defines ``_name``:
    a dependency's private attribute, which its next release may rename or drop."""
    ours: set[str] = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                ours.add(node.name)
            elif (  # an attribute of our own objects; a store into another's defines nothing
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id in {"self", "cls"}
            ):
                ours.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                ours.add(node.id)
            elif isinstance(node, ast.alias):
                ours.add(node.asname or node.name.split(".")[-1])
    found = []
    for where, tree in trees.items():
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.Attribute):
                name = node.attr
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"getattr", "hasattr", "setattr"}
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                name = node.args[1].value
            if (
                name is not None
                and name.startswith("_")
                and not name.startswith("__")
                and name not in ours | DOCUMENTED_UNDERSCORED
            ):
                found.append(f"{where}:{node.lineno} {name}")
    return found


def test_no_private_attribute_of_a_dependency_is_read() -> None:
    trees = {str(path.relative_to(PACKAGE)): ast.parse(path.read_text())
             for path, _ in _modules().values()}  # fmt: skip
    assert _foreign_private_reads(trees) == []


def test_the_private_attribute_check_sees_a_read() -> None:
    source = (
        "class A:\n"
        "    def f(self, response, client):\n"
        "        self._mine = response._content = b''\n"
        "        return client._transport, getattr(client, '_pool'), self._mine\n"
    )
    found = _foreign_private_reads({"m.py": ast.parse(source)})
    assert found == ["m.py:3 _content", "m.py:4 _transport", "m.py:4 _pool"]
