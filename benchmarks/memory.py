"""Memory of the provider's workers after a soak of logins (issue 9: ≤ 100 MB resident each).

Usage (from the repository root, after the README's install command)::

    .venv/bin/python benchmarks/memory.py [--registries sandbox|http] [--backend services|embedded]
        [--workers 2] [--duration 60] [--people 6450]

It starts the provider on its production server (``idp serve --workers N``, granian) with the
configuration of ``benchmarks/compare.py`` (captcha and rate limits off, SMS into an outbox
file) and either of two registries:

- ``sandbox``: a generated sandbox registry of ``--people`` fictional people (~2 KB each), loaded
  into every worker — the benchmark's configuration;
- ``http``: the HTTP registries (``[registries] backend = "http"``), as a real deployment has
  them, answered by a small stub in this process from the same generated people.

Then 8 simulated browsers log in back to back for ``--duration`` seconds (new citizens and, once
there are some, returning ones, half and half), and it prints, for the supervisor and each
worker, from ``/proc/PID/smaps_rollup``: RSS (resident, shared pages counted in full), PSS
(shared pages divided among the processes that share them) and USS (private pages: what the
process alone costs), in MB, at the start, halfway and at the end (a steady figure does not grow).
Benchmarks print numbers; no test asserts them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jdatetime

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compare


def smaps(pid: int) -> dict[str, float]:
    """RSS, PSS and USS of one process, MB."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value)
    return {"rss": fields["Rss"] / 1024, "pss": fields["Pss"] / 1024,
            "uss": (fields["Private_Clean"] + fields["Private_Dirty"]) / 1024}


def report(server: compare.Server, label: str) -> None:
    compare.say(f"  {label}:")
    for pid in server.tree():
        with contextlib.suppress(OSError):
            sizes = smaps(pid)
            role = "supervisor" if pid == server.process.pid else "worker"
            compare.say(f"    {role} {pid}: RSS {sizes['rss']:6.1f}  PSS {sizes['pss']:6.1f}  "
                        f"USS {sizes['uss']:6.1f}")


class StubRegistry(BaseHTTPRequestHandler):
    """The civil registry and Shahkar of docs/registries.md, from the generated people."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        people = self.server.people
        body: dict | None = None
        if url.path.startswith("/civil/persons/"):
            person = people.get(url.path.rsplit("/", 1)[1])
            if person and gregorian(person) == query.get("birth_date"):
                body = {"national_code": person["national_code"],
                        "birth_date": gregorian(person), "first_name": person["given"],
                        "last_name": person["family"], "father_name": compare.rng_father(person),
                        "gender": person["gender"], "postal_code": person["postal_code"]}
        elif url.path == "/shahkar/match":
            person = people.get(query.get("code", ""))
            mobile = "0" + query.get("mobile", "").removeprefix("+98")
            body = {"match": bool(person and person["mobile"] == mobile)}
        data = json.dumps(body).encode()
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def gregorian(person: dict) -> str:
    return jdatetime.date(*person["birth"]).togregorian().isoformat()


@contextlib.contextmanager
def stub_registry(people: list[dict]):
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubRegistry)
    server.daemon_threads = True
    server.people = {person["national_code"]: person for person in people}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host, port = server.server_address
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()


def http_registries(config: Path, base_url: str) -> None:
    text = config.read_text(encoding="utf-8")
    sandbox = '[registries]\nbackend = "sandbox"\nsandbox_path = "people.toml"\n'
    config.write_text(text.replace(sandbox, f'[registries]\nbackend = "http"\n'
                                            f'http_base_url = "{base_url}"\n'), encoding="utf-8")


def soak(args) -> None:
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="idp-memory-")))
        database_url, redis_url = "", ""
        if args.backend == "services":
            database_url, redis_url = stack.enter_context(compare.services_backend())
        port = compare.free_port()
        secret = secrets.token_urlsafe(24)
        people = compare.make_people(args.people)
        (folder / "people.toml").write_text(compare.registry_toml(people), encoding="utf-8")
        config = compare.write_config(folder, port=port, database_url=database_url,
                                      redis_url=redis_url, client_secret=secret,
                                      service_secret=secrets.token_urlsafe(24))
        if args.registries == "http":
            http_registries(config, stack.enter_context(stub_registry(people)))
        compare.prepare(config)
        workers = args.workers if args.backend == "services" else 1
        command, env = compare.provider_command(config, port, workers)
        compare.say(f"== provider, {args.backend}, {args.registries} registries, "
                    f"{workers} worker(s): " + " ".join(command))
        server = compare.Server("provider", command, env, folder / "server.log", cwd=folder)
        stack.callback(server.stop)
        issuer = f"http://127.0.0.1:{port}"
        server.wait_ready(issuer + "/.well-known/openid-configuration")
        time.sleep(1)
        report(server, "started")
        target = compare.Target("provider", issuer, secret, compare.SCOPE)
        target.load()
        population = compare.Population(people)
        population.ration(len(people))
        outbox = compare.Outbox(folder / "instance" / "outbox.jsonl")
        client = compare.Client(issuer)
        logins = {"new": 0, "returning": 0}

        async def login() -> int:
            returning = population.returning and logins["returning"] < logins["new"]
            person = await population.again() if returning else population.new()
            try:
                count = await compare.provider_login(
                    target, client, outbox, person,
                    compare.RETURNING_STEPS if returning else compare.NEW_STEPS)
            finally:
                population.done(person)
            logins["returning" if returning else "new"] += 1
            return count

        loop = asyncio.new_event_loop()
        stack.callback(loop.close)
        errors = []
        for half in ("halfway", "end"):
            result = loop.run_until_complete(compare.drive(args.duration / 2, login, None))
            errors += result.errors
            report(server, f"{half} ({logins['new']} new and {logins['returning']} returning "
                           f"logins, {len(errors)} failed)")
        client.close()
        for error in errors[:5]:
            compare.loud(error)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registries", choices=["sandbox", "http"], default="sandbox")
    parser.add_argument("--backend", choices=["services", "embedded"], default="services")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of logins")
    parser.add_argument("--people", type=int, default=6450,
                        help="generated people (compare.py's default run generates 6,450)")
    soak(parser.parse_args())
    return 0


if __name__ == "__main__":
    sys.exit(main())
