"""What the production server's processes hold (issue 9: ≤ 100 MB resident per worker).

Its workers fork from ``idp serve``: every module the command imports sits in each of them.
Measured figures are in docs/performance.md ("Memory"); these tests keep what can be kept.
"""

import subprocess
import sys

# Needed by ``idp demo`` or by migrating a database, never by a running worker.
NOT_IN_A_WORKER = ("clients", "alembic", "mako", "pygments")


def imported_by(code: str) -> set[str]:
    """The top-level packages in ``sys.modules`` after ``code`` runs in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
        capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in result.stdout.split()}


def test_the_command_that_forks_the_workers_does_not_load_the_demo():
    loaded = imported_by("import idp.cli, idp.production")
    assert "idp" in loaded
    assert loaded.isdisjoint(NOT_IN_A_WORKER)


def test_the_demo_command_is_loaded_when_it_runs():
    loaded = imported_by("from idp.cli import main\n"
                         "import click\n"
                         "assert main.get_command(click.Context(main), 'demo').name == 'demo'")
    assert "clients" in loaded
