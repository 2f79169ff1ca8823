"""CPU time the provider spends on a whole login, measured in one process.

Prints numbers; asserts nothing. A shared, noisy machine changes how fast a login is, much
less how much CPU it costs: this counts ``time.process_time()`` inside the WSGI app only (not
the test client driving it), for each request of N new-citizen and N returning-citizen logins
walked by tests/walker.py, with compare.py's configuration (its generated people, a client that
is not first-party, so a new citizen sees the consent page). Run:

    .venv/bin/python benchmarks/login_cpu.py [--logins 300] [--rounds 3] \
        [--database-url URL --redis-url URL]

After a warm-up of 20 logins (not counted), each round logs in ``--logins`` new citizens,
then the same citizens again; the figures are the median over rounds of the mean CPU per login.
With ``--cprofile FILE`` the rounds run under cProfile (slower; for where, not how much). With
``--callgrind`` the command is meant to run under ``valgrind --tool=callgrind
--instr-atstart=no``: it switches instrumentation on for the rounds only (``callgrind_control``,
through valgrind's gdbserver), so callgrind's total is the instructions of those logins — the
app and the in-process test client driving it — a count the machine's other load does not change.
"""

import argparse
import cProfile
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare import (
    CLIENT_ID,
    OTP_COOLDOWN_SECONDS,
    REDIRECT_URI,
    SCOPE,
    make_people,
    registry_toml,
    write_config,
)
from flow import pkce
from walker import Done, Follow, Submit, Walk, answers, outbox_codes

from idp import create_app
from idp.settings import load_settings

SECRET = "bench-secret"
WARM_UP = 20


class CpuMeter:
    """Wraps a WSGI app and adds up the process CPU time spent inside it."""

    def __init__(self, app) -> None:
        self.app = app
        self.seconds = 0.0
        self.requests = 0
        self.profiler: cProfile.Profile | None = None

    def __call__(self, environ, start_response):
        if self.profiler:
            self.profiler.enable()
        started = time.process_time()
        try:
            return self.app(environ, start_response)
        finally:
            self.seconds += time.process_time() - started
            self.requests += 1
            if self.profiler:
                self.profiler.disable()


def walk_login(app, client, person: dict, outbox: Path) -> None:
    """One login from /authorize to the token response, as compare.py's browsers do it."""
    verifier, challenge = pkce()
    query = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
             "scope": SCOPE, "state": "s", "nonce": "n", "code_challenge": challenge,
             "code_challenge_method": "S256"}
    walk = Walk(answers(person, lambda mobile: outbox_codes(outbox, mobile)[-1]),
                provider="http://localhost", redirect_uri=REDIRECT_URI)
    response = client.get("/authorize", query_string=query)
    while True:
        action = walk.step(response.request.url, response.status_code,
                           response.get_data(as_text=True), response.headers.get("Location"))
        if isinstance(action, Follow):
            response = client.get(action.url)
        elif isinstance(action, Submit):
            response = client.post(action.url, data=action.fields)
        elif isinstance(action, Done):
            break
        else:
            raise SystemExit(f"login failed: {action}")
    code = parse_qs(urlsplit(action.location).query)["code"][0]
    token = client.post("/token", auth=(CLIENT_ID, SECRET), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier})
    if token.status_code != 200 or "id_token" not in token.json:
        raise SystemExit(f"/token failed: {token.status_code} {token.get_data(as_text=True)}")


def measure(app, meter: CpuMeter, people: list[dict], outbox: Path) -> tuple[float, float]:
    """Mean CPU ms per login (inside the app) and requests per login."""
    time.sleep(OTP_COOLDOWN_SECONDS + 0.1)  # these citizens may have just asked for a code
    seconds, requests = meter.seconds, meter.requests
    for person in people:
        walk_login(app, app.test_client(), person, outbox)
    count = len(people)
    return 1000 * (meter.seconds - seconds) / count, (meter.requests - requests) / count


def instrument(mode: str) -> None:
    """Switch callgrind's instrumentation of this process on or off; returns once it is."""
    subprocess.run(["callgrind_control", f"--instr={mode}", str(os.getpid())], check=True,
                   stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--logins", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--cprofile", default="")
    parser.add_argument("--callgrind", action="store_true")
    args = parser.parse_args()
    args.cprofile = args.cprofile and os.path.abspath(args.cprofile)
    with tempfile.TemporaryDirectory(prefix="idp-cpu-") as name:
        folder = Path(name)
        os.chdir(folder)
        people = make_people(args.logins * args.rounds + WARM_UP + 1)
        (folder / "people.toml").write_text(registry_toml(people), encoding="utf-8")
        config = write_config(folder, port=5000, database_url=args.database_url,
                              redis_url=args.redis_url, client_secret=SECRET,
                              service_secret="bench-service-secret")
        settings = load_settings(str(config), environ={})
        settings.server.issuer = "http://localhost"
        app = create_app(settings)
        meter = CpuMeter(app.wsgi_app)
        app.wsgi_app = meter
        outbox = folder / "instance" / "outbox.jsonl"
        measure(app, meter, people[:WARM_UP], outbox)
        measure(app, meter, people[:WARM_UP], outbox)
        profiler = meter.profiler = cProfile.Profile() if args.cprofile else None
        if args.callgrind:
            instrument("on")
        new, returning = [], []
        for number in range(args.rounds):
            batch = people[WARM_UP + number * args.logins:WARM_UP + (number + 1) * args.logins]
            cpu, requests = measure(app, meter, batch, outbox)
            new.append(cpu)
            print(f"round {number + 1}: new citizen {cpu:6.2f} ms CPU per login "
                  f"({requests:.0f} requests)", flush=True)
            cpu, requests = measure(app, meter, batch, outbox)
            returning.append(cpu)
            print(f"round {number + 1}: returning   {cpu:6.2f} ms CPU per login "
                  f"({requests:.0f} requests)", flush=True)
        if args.callgrind:
            instrument("off")
        if profiler:
            profiler.dump_stats(args.cprofile)
        print(f"median of {args.rounds} rounds of {args.logins}: new citizen "
              f"{statistics.median(new):.2f} ms, returning {statistics.median(returning):.2f} ms")
        app.extensions["idp"].db.engine.dispose()


if __name__ == "__main__":
    main()
