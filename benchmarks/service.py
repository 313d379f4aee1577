"""The service under load: webhook throughput and latency, end-to-end latency, memory.

Run from the project root (PostgreSQL on 127.0.0.1:5432, trust auth, as
for the tests; it creates and drops a database of its own):

    .venv/bin/python -m benchmarks.service

One run measures, each against the others in the same run (the machine's
speed, and whoever else uses it, cancel out in the ratios):

* webhook throughput and latency (p50, p99): ``--requests`` signed WhatsApp
  webhooks with unique MessageSids, ``--concurrency`` at a time, from a
  client that costs the servers' cores little (``benchmarks/load.py``),
  against (i) a bare FastAPI endpoint that only parses the form
  (``benchmarks/bare.py``: the ceiling), (ii) ``seguro-bot serve`` with
  1 worker on SQLite, (iii) ``serve`` with 1 worker and (iv) ``serve
  --workers 2`` on PostgreSQL (each on a database of its own). The bot
  works as it would in production: it processes the messages and sends the
  replies to a lean fake Twilio in its own process
  (``benchmarks/fake_twilio.py``); during the burst each process
  acknowledges first and handles the messages after, or every
  ``INTAKE_FIRST_SECONDS`` (``bot/intake.py``), so *answered/s*, the
  messages answered per second until the burst's last reply, is the
  configuration's capacity;
* end-to-end latency: webhooks paced at ``--rate`` per second, each from a
  new student, and the time until the student's first reply reaches the
  fake Twilio (p50, p99);
* peak RSS (``VmHWM``) of every worker process;
* the cores the whole machine kept busy during each burst (``/proc/stat``):
  whether a configuration was bound by the machine or by itself;
* the webhook path alone, on SQLite: ``--requests`` retries of one stored
  MessageSid (signature, parse, the insert that finds it stored, commit,
  answer; nothing to process), against the same ceiling;
* the understanding benchmark's median (``benchmarks.understanding``):
  pure CPU in this process, it also shows how fast the machine was just
  then (on a shared host its speed drifts, by half from one hour to the next).

The provider send-rate limits are set out of the way (Twilio's is 80
messages/s per sender by default, below the 200 messages/s measured here),
but their code runs: what is measured is our cost, not Twilio's quota.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx

from benchmarks.load import Load, Request, build, closed_loop, paced
from tests.fakes import twilio as tw

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SEGURO_BOT = str(Path(sys.executable).with_name("seguro-bot"))
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
WEBHOOK = "/webhooks/whatsapp"


# --- processes --------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def process(args: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            port: int, health: str = "/healthz", log: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process, wait until ``health`` answers, stop it (SIGTERM, then SIGKILL) afterwards."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=out,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}{health}", timeout=2).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{args[:3]} did not start (see {log})")
            time.sleep(0.2)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        if out is not subprocess.DEVNULL:
            out.close()


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (uvicorn's worker processes), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def busy_cores() -> float:
    """The machine's busy CPU time so far, in core-seconds (all processes: /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker_pids(proc: subprocess.Popen[bytes]) -> list[int]:
    """The processes that serve requests: the process itself, or uvicorn's workers under it."""
    def cmdline(pid: int) -> str:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return ""

    workers = [p for p in _children(proc.pid) if "multiprocessing" in cmdline(p) and "resource_tracker" not in cmdline(p)]
    return workers or [proc.pid]


# --- load ---------------------------------------------------------------------------------


_NEW_STUDENTS: set[int] = set()


def _new_student() -> str:
    """A number no request of this run has used (``+52165…``; returning students are ``+521644…``).

    Why: a "new" student who had written before would be answered as a
    returning one, and timed from an earlier reply (the end-to-end figure
    takes each student's first reply).
    """
    while (n := secrets.randbelow(10**7)) in _NEW_STUDENTS:
        pass
    _NEW_STUDENTS.add(n)
    return f"+52165{n:07d}"


def signed_requests(count: int, *, students: int) -> list[Request]:
    """``count`` signed webhooks, written out before any clock starts; ``students=0``: each from a new student."""
    out = []
    for i in range(count):
        sender = _new_student() if students == 0 else f"+521644{i % students:06d}"
        form = tw.inbound_form("hola", sender=sender, sid=tw.new_sid("SM"))
        pairs = list(form.items())
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                   "X-Twilio-Signature": tw.sign(tw.PUBLIC_BASE_URL + WEBHOOK, pairs)}
        out.append(build("http://127.0.0.1", WEBHOOK, urlencode(pairs).encode(), headers, f"whatsapp:{sender}"))
    return out


class Sent:
    """What the fake Twilio accepted, fetched a little at a time (``/_bench/sent?since=N``)."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.items: list[list] = []

    def fetch(self) -> list[list]:
        self.items += httpx.get(f"{self.api_url}/_bench/sent", params={"since": len(self.items)}, timeout=30).json()
        return self.items

    def first_replies(self) -> dict[str, float]:
        first: dict[str, float] = {}
        for at, to, _body in self.fetch():
            first.setdefault(to, at)
        return first


def settle(sent: Sent, expected_senders: set[str], timeout: float) -> dict[str, float]:
    """Wait (bounded) until every sender got a reply; returns first reply time by sender."""
    deadline = time.monotonic() + timeout
    while True:
        first = sent.first_replies()
        if expected_senders <= set(first) or time.monotonic() > deadline:
            return first
        time.sleep(0.5)


def drained(sent: Sent, before: int, quiet: float = 1.5, timeout: float = 60) -> float:
    """When the last reply of a burst reached the fake: once no new one came for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    count, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        items = sent.fetch()
        if len(items) != count:
            count, since = len(items), time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
        time.sleep(0.3)
    return max(at for at, *_ in items[before:])


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100)[q - 1]


# --- the run ------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    load: Load
    e2e: list[float] = field(default_factory=list)
    e2e_missing: int = 0
    rss: list[float] = field(default_factory=list)
    processed: float = float("nan")  # messages answered per second while the burst drained
    cores: float = float("nan")  # cores the whole machine kept busy during the burst
    retries: Load | None = None  # one stored MessageSid posted again and again: the webhook path alone
    ceiling: float = float("nan")  # the bare endpoint's webhooks/s, measured just before this burst
    retries_ceiling: float = float("nan")  # ... and just before the retries
    ceilings: list[float] = field(default_factory=list)  # the ceiling row: every measurement of the run


def bot_env(database_url: str, api_url: str, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_", "DATABASE_URL"))}
    env.update({
        "DATABASE_URL": database_url,
        "PUBLIC_BASE_URL": tw.PUBLIC_BASE_URL,
        "TWILIO_ACCOUNT_SID": tw.ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": tw.AUTH_TOKEN,
        "TWILIO_WHATSAPP_NUMBERS": ",".join(tw.DESK_NUMBERS),
        "TWILIO_API_BASE_URL": api_url,
        # The limits' code runs, their quotas do not bind (see the module's docstring).
        "TWILIO_SEND_RATE": "100000",
        "OUTGOING_RATE_LIMIT": "100000000",
        "MEDIA_DIR": str(workdir / "media"),
        "LOG_LEVEL": "WARNING",
    })
    return env


def run_bot(name: str, args: list[str], env: dict[str, str], workdir: Path, api_url: str,
            opts: argparse.Namespace, ceiling: Callable[[], float], *, measure_retries: bool = False) -> Row:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with process([SEGURO_BOT, "serve", "--port", str(port), *args], env=env, cwd=workdir, port=port,
                 log=workdir / f"{name.split()[0]}.log") as proc:
        warm = signed_requests(200, students=0)
        asyncio.run(closed_loop(url, warm, opts.concurrency))
        sent = Sent(api_url)
        settle(sent, {r.sender for r in warm}, timeout=60)
        before = len(sent.fetch())
        reqs = signed_requests(opts.requests, students=opts.requests // 4)
        bare = ceiling()
        start, busy = time.time(), busy_cores()
        load = asyncio.run(closed_loop(url, reqs, opts.concurrency))
        cores = (busy_cores() - busy) / (time.time() - start)
        settle(sent, {r.sender for r in reqs}, timeout=180)  # the backlog of the burst, before the paced run
        processed = opts.requests / (drained(sent, before) - start)
        retries, retries_bare = None, float("nan")
        if measure_retries:
            retries_bare = ceiling()
            # Twilio's retries of one stored message: signature, parse, the insert that finds it
            # stored, the commit, the answer; no message to process. What the webhook path costs alone.
            retries = asyncio.run(closed_loop(url, [reqs[0]] * opts.requests, opts.concurrency))
        paced_reqs = signed_requests(int(opts.rate * opts.paced_seconds), students=0)
        refused: list[int] = []
        posted = asyncio.run(paced(url, paced_reqs, opts.rate, refused))
        first = settle(sent, set(posted), timeout=120)
        e2e = [first[s] - t for s, t in posted.items() if s in first]
        rss = [peak_rss_mb(pid) for pid in worker_pids(proc)]
    unanswered = len(posted) - len(e2e)
    if refused or unanswered:
        kept = Path(tempfile.gettempdir()) / f"seguro-bench-{workdir.name}-{os.getpid()}.log"
        kept.write_bytes((workdir / f"{name.split()[0]}.log").read_bytes())
        print(f"  ! {name}: paced webhooks refused {sorted(refused)}, {unanswered} unanswered after 120 s; "
              f"its log is kept at {kept}", file=sys.stderr)
    return Row(name, load, e2e, unanswered + len(refused), rss, processed, cores, retries, bare, retries_bare)


def create_database(name: str) -> str:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return ADMIN_URL.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + f"/{name}"


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def understanding_median() -> float:
    from benchmarks import understanding
    from knowledge.loader import load

    kb = load()
    kb.matcher  # noqa: B018 - built outside the timing
    texts = understanding.messages()
    understanding.measure(kb, texts[:20], 1)
    return understanding.measure(kb, texts, 3)["step_p50_ms"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="webhooks per configuration (closed loop)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=200.0, help="paced webhooks per second (end to end)")
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    opts = parser.parse_args()
    assert opts.requests <= 20_000 and opts.paced_seconds <= 60, "keep the load bounded (shared machine)"

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="seguro-bench-") as tmp:
        work = Path(tmp)
        api_port = free_port()
        api_url = f"http://127.0.0.1:{api_port}"
        with process([PYTHON, "-m", "benchmarks.fake_twilio", "--port", str(api_port)], cwd=ROOT,
                     port=api_port, health="/_bench/sent", log=work / "fake.log"):
            bare_port = free_port()
            # The bare endpoint stays up (idle, it costs nothing) and is measured again just before
            # each burst: this machine's speed drifts within minutes, so each ratio is taken
            # against the ceiling of its own minute.
            with process([PYTHON, "-m", "benchmarks.bare", "--port", str(bare_port)], cwd=ROOT,
                         port=bare_port, log=work / "bare.log") as bare:
                url = f"http://127.0.0.1:{bare_port}"
                asyncio.run(closed_loop(url, signed_requests(200, students=0), opts.concurrency))
                reqs, busy, start = signed_requests(opts.requests, students=500), busy_cores(), time.time()
                load = asyncio.run(closed_loop(url, reqs, opts.concurrency))
                cores = (busy_cores() - busy) / (time.time() - start)
                ceiling_row = Row("bare FastAPI (ceiling)", load, cores=cores, ceiling=load.throughput)
                rows.append(ceiling_row)
                ceilings: list[float] = [load.throughput]

                def ceiling() -> float:
                    ceilings.append(asyncio.run(closed_loop(url, signed_requests(opts.requests, students=500),
                                                            opts.concurrency)).throughput)
                    return ceilings[-1]

                sqlite_dir = work / "sqlite"
                sqlite_dir.mkdir()
                env = bot_env(f"sqlite:///{sqlite_dir / 'bench.db'}", api_url, sqlite_dir)
                rows.append(run_bot("serve 1 worker, SQLite", [], env, sqlite_dir, api_url, opts, ceiling,
                                    measure_retries=True))
                for workers in (1, 2):
                    name = f"seguro_bench_{os.getpid()}_{workers}"
                    pg_dir = work / f"pg{workers}"
                    pg_dir.mkdir()
                    try:
                        env = bot_env(create_database(name), api_url, pg_dir)
                        args = ["--workers", str(workers)] if workers > 1 else []
                        label = f"serve {workers} worker{'s' if workers > 1 else ''}, PostgreSQL"
                        rows.append(run_bot(label, args, env, pg_dir, api_url, opts, ceiling))
                    finally:
                        drop_database(name)
                ceiling_row.rss = [peak_rss_mb(bare.pid)]
                ceiling_row.ceilings = ceilings
    understanding = understanding_median()
    report(rows, understanding, opts)


def report(rows: list[Row], understanding: float, opts: argparse.Namespace) -> None:
    ceiling, one, pg_one, two = rows[0], rows[1], rows[2], rows[3]
    print(f"webhooks: {opts.requests} signed WhatsApp messages, unique MessageSids, concurrency {opts.concurrency}; "
          f"end to end: {opts.rate:.0f} msg/s for {opts.paced_seconds:.0f} s; {os.cpu_count()} cores (shared)")
    head = (f"{'':30}{'req/s':>8}{'× ceil':>8}{'p50 ms':>8}{'p99 ms':>8}{'answered/s':>11}"
            f"{'e2e p50':>9}{'e2e p99':>9}{'RSS MB':>12}{'cores':>7}")
    print(head)
    for row in rows:
        ms = [x * 1000 for x in row.load.latencies]
        e2e = [x * 1000 for x in row.e2e]
        e2e_cols = f"{statistics.median(e2e):>9.1f}{pct(e2e, 99):>9.1f}" if e2e else f"{'-':>9}{'-':>9}"
        rss = "/".join(f"{r:.0f}" for r in row.rss)
        print(f"{row.name:30}{row.load.throughput:>8.0f}{row.load.throughput / row.ceiling:>8.2f}"
              f"{statistics.median(ms):>8.1f}{pct(ms, 99):>8.1f}{row.processed:>11.0f}{e2e_cols}{rss:>12}"
              f"{row.cores:>7.2f}")
        if row.load.failures or row.e2e_missing:
            print(f"  ! {row.load.failures} webhooks not 200, {row.e2e_missing} paced messages without a reply")
    print(f"cores: CPU the whole machine kept busy during the burst (client, fake Twilio, PostgreSQL, workers), "
          f"of {os.cpu_count()}")
    print("× ceil: against the bare endpoint measured just before that burst; its runs: "
          + ", ".join(f"{c:.0f}" for c in ceiling.ceilings) + " webhooks/s")
    if one.retries is not None:
        print(f"webhook path alone ({opts.requests} retries of one stored MessageSid, nothing to process), "
              f"1 worker SQLite: {one.retries.throughput:.0f}/s, "
              f"{one.retries.throughput / one.retries_ceiling:.2f}x the ceiling, "
              f"p99 {pct([x * 1000 for x in one.retries.latencies], 99):.1f} ms")
    print(f"{'understanding one message (median)':36}{understanding:.3f} ms")
    scale = two.load.throughput / one.load.throughput
    drift = pg_one.ceiling / two.ceiling  # the machine's speed between the two bursts
    print(f"2 workers vs 1 on PostgreSQL: webhooks {two.load.throughput / pg_one.load.throughput:.2f}x "
          f"({two.load.throughput / pg_one.load.throughput * drift:.2f}x at the same ceiling), "
          f"answered {two.processed / pg_one.processed:.2f}x")
    checks = [
        ("1 worker SQLite >= 0.5x the bare endpoint", one.load.throughput / one.ceiling, 0.5, True),
        ("2 workers PostgreSQL >= 1.6x 1 worker (SQLite)", scale, 1.6, True),
        ("2 workers PostgreSQL >= 1.6x 1 worker (PostgreSQL)", two.load.throughput / pg_one.load.throughput, 1.6, True),
        ("2 workers PostgreSQL >= 1.6x 1 worker (PostgreSQL, at the same ceiling)",
         two.load.throughput / pg_one.load.throughput * drift, 1.6, True),
        ("end-to-end p99 < 100 ms at the paced rate (1 worker SQLite)", pct([x * 1000 for x in one.e2e], 99), 100, False),
        ("end-to-end p99 < 100 ms at the paced rate (2 workers PostgreSQL)", pct([x * 1000 for x in two.e2e], 99), 100, False),
        ("peak RSS per worker < 200 MB", max(one.rss + pg_one.rss + two.rss), 200, False),
        ("understanding a message < 2 ms median", understanding, 2.0, False),
    ]
    for label, value, target, at_least in checks:
        met = value >= target if at_least else value < target
        print(f"target: {label}: {value:.2f} -> {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
