"""The package's layering, read from the source (every import, function-level ones included).

* ``views/`` (HTML and JSON API) sits on top: no module outside it imports it, so the domain
  packages work without the UI and the UI is wired only by ``views/`` (``config.add_nav``,
  ``config.add_item_panel`` in the views modules' ``includeme``).
* No import cycles hidden by late imports: a cycle between modules counts whether the imports are
  at the top or inside functions.
* HTML views never catch the API's error type: domain operations raise the shared
  ``duban_archive.errors.Refusal``, which each side translates.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import duban_archive

PKG = Path(duban_archive.__file__).resolve().parent
VIEWS = "duban_archive.views"

#: modules outside views/ still importing it, with why; each must go (the test fails when one no
#: longer imports views, so that the entry is removed)
VIEWS_IMPORT_EXCEPTIONS: dict[str, set[str]] = {}

#: import cycles (through late imports) that remain: none since issue 16 opened the last ones; keep it so
KNOWN_CYCLES: list[set[str]] = []


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


@cache
def imports_of(module: str) -> frozenset[str]:
    """The package's modules ``module`` imports, anywhere in its source (``from . import x``
    names the module ``x`` when it is one, else the package)."""
    path = modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text("utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            node.body = []  # imports for annotations only: never executed, no cycle at run time
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.add(sub if sub in modules() else source)
    return frozenset(name for name in found if name == "duban_archive" or name.startswith("duban_archive."))


def _is_views(name: str) -> bool:
    return name == VIEWS or name.startswith(VIEWS + ".")


def test_the_parser_sees_relative_and_late_imports():
    """The check sees relative imports (views/__init__ includes .api) and late ones (main() imports bootstrap)."""
    assert "duban_archive.views.api.errors" in imports_of("duban_archive.views")
    assert "duban_archive.catalog.saved_searches" in imports_of("duban_archive.views.search")
    assert "duban_archive.content_types.bootstrap" in imports_of("duban_archive")  # inside main()


def test_no_module_outside_views_imports_views():
    offenders = {}
    for module in modules():
        if _is_views(module):
            continue
        found = {name for name in imports_of(module) if _is_views(name)}
        if found != VIEWS_IMPORT_EXCEPTIONS.get(module, set()):
            offenders[module] = sorted(found)
    assert offenders == {}, ("modules outside views/ import views/ (register UI with config.add_nav / "
                             f"add_item_panel in a views module's includeme instead): {offenders}")


def test_domain_packages_are_ui_free():
    """The packages whose includeme used to wire the UI import nothing from views/, nor pyramid's renderers."""
    for package in ("catalog", "workflows", "notifications", "scoring", "reports", "archive", "security"):
        for module in modules():
            if module == f"duban_archive.{package}" or module.startswith(f"duban_archive.{package}."):
                assert not any(_is_views(name) for name in imports_of(module)), module


def _cycles() -> list[set[str]]:
    """Strongly connected components (more than one module) of the import graph (Tarjan)."""
    graph = {m: [n for n in imports_of(m) if n in modules() and n != m] for m in modules()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_new_import_cycles_hidden_by_late_imports():
    cycles = _cycles()
    new = [sorted(c) for c in cycles if not any(c <= known for known in KNOWN_CYCLES)]
    assert new == [], f"import cycles (a late import does not open a cycle: move what both need): {new}"
    gone = [sorted(k) for k in KNOWN_CYCLES if not any(c == k for c in cycles)]
    assert gone == [], f"these cycles were opened or changed: update KNOWN_CYCLES: {gone}"


def test_site_bootstrap_and_site_access_depend_one_way():
    bootstrap, access = "duban_archive.content_types.bootstrap", "duban_archive.content_types.site_access"
    assert access not in imports_of(bootstrap)
    assert bootstrap in imports_of(access)
    top = ast.parse(modules()[access].read_text("utf-8")).body
    assert any(isinstance(n, ast.ImportFrom) and n.module == "bootstrap" for n in top), "imported at the top"


def test_html_views_do_not_catch_the_api_error():
    """Domain operations raise Refusal; HTML views catch that (or let views/errors.py show it)."""
    for module, path in modules().items():
        if not _is_views(module) or module.startswith(VIEWS + ".api"):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                names = {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)}
                names |= {n.attr for n in ast.walk(node.type) if isinstance(n, ast.Attribute)}
                assert "ApiError" not in names, f"{module}:{node.lineno} catches ApiError"


def test_api_error_is_the_shared_refusal():
    from duban_archive.errors import Refusal
    from duban_archive.validation import ValidationFailed
    from duban_archive.views.api.errors import ApiError

    exc = ApiError(409, "事项已办结", {"level": "应高于当前级别"})
    assert isinstance(exc, Refusal) and issubclass(ValidationFailed, Refusal)
    assert (exc.status, exc.code, exc.message) == (409, "conflict", "事项已办结")
    assert exc.fields == {"level": "应高于当前级别"}
