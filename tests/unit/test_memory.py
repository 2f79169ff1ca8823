"""What the production server's processes hold (issue 9: ≤ 100 MB resident per worker).

Its workers fork from ``idp serve``: every module the command imports sits in each of them.
Measured figures are in docs/performance.md ("Memory"); these tests keep what can be kept.
"""

import subprocess
import sys

from idp import malloc

# Needed by ``idp demo`` or by migrating a database, never by a running worker.
NOT_IN_A_WORKER = ("clients", "alembic", "mako", "pygments")
# Loaded by the one page that uses each (the QR code, the account page's sessions, a foreigner's
# verified claims), not by every worker from its start.
LOADED_WHERE_USED = ("segno", "ua_parser", "pycountry")


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


def test_a_worker_starts_without_the_libraries_of_rarely_drawn_pages():
    assert imported_by("import idp.cli, idp.production").isdisjoint(LOADED_WHERE_USED)


def test_the_demo_command_is_loaded_when_it_runs():
    loaded = imported_by("from idp.cli import main\n"
                         "import click\n"
                         "assert main.get_command(click.Context(main), 'demo').name == 'demo'")
    assert "clients" in loaded


ARENAS = """
import ctypes, threading
from idp import malloc
{limit}
together = threading.Barrier(4)
def work():
    together.wait()  # the four allocate at once, so none can reuse another's arena
    blobs = [bytes(4096) for _ in range(100)]
    together.wait()
threads = [threading.Thread(target=work) for _ in range(4)]
[thread.start() for thread in threads]
[thread.join() for thread in threads]
ctypes.CDLL(None).malloc_stats()
"""


def arenas_after_four_threads(limit: str) -> int:
    """glibc's malloc arenas once four threads have allocated at the same time."""
    result = subprocess.run([sys.executable, "-c", ARENAS.format(limit=limit)],
                            capture_output=True, text=True, check=True)
    return sum(line.startswith("Arena ") for line in result.stderr.splitlines())


def test_threads_share_the_arenas_the_workers_are_limited_to():
    assert arenas_after_four_threads("") > 1
    assert arenas_after_four_threads("assert malloc.limit_arenas(1)") == 1



def test_the_production_server_limits_the_arenas_before_its_workers_fork(monkeypatch, tmp_path):
    from idp import production
    from idp.settings import Settings

    calls = []

    class Server:
        def __init__(self, *args, **kwargs) -> None:
            calls.append("granian")

        def serve(self, **kwargs) -> None:
            calls.append("workers forked")

    monkeypatch.setenv(production.MULTIPROC_ENV, str(tmp_path / "metrics"))
    monkeypatch.setattr(production.gc, "freeze", lambda: None)
    monkeypatch.setattr(production, "Granian", Server)
    monkeypatch.setattr(malloc, "limit_arenas", lambda count: calls.append(f"arenas {count}"))
    production.serve(Settings(base_dir=tmp_path), "127.0.0.1", 0, 2)
    assert calls == [f"arenas {production.MALLOC_ARENAS}", "granian", "workers forked"]
