"""The provider's core sits below the journey (SPEC §2): only the wiring imports ``flows``."""

import ast
from pathlib import Path

IDP = Path(__file__).resolve().parents[2] / "idp"
# The app factory, the WSGI entry point and the command line wire the whole app together.
WIRING = {"__init__.py", "wsgi.py", "cli.py"}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_only_the_wiring_imports_the_journey():
    offenders = sorted(
        str(path.relative_to(IDP)) for path in IDP.rglob("*.py")
        if str(path.relative_to(IDP)) not in WIRING
        and any(name == "flows" or name.startswith("flows.") for name in imported_modules(path)))
    assert offenders == []


def test_the_relying_parties_know_the_provider_only_over_http():
    """clients/ integrate as any third party would: no import of idp or flows (issue 12)."""
    clients = IDP.parent / "clients"
    offenders = sorted(
        str(path.relative_to(clients)) for path in clients.rglob("*.py")
        if any(name.split(".")[0] in {"idp", "flows"} for name in imported_modules(path)))
    assert offenders == []
