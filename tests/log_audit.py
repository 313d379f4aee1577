"""A pytest plugin: every log record of the whole test run goes to one file, then it is searched for secrets.

The issue's "done when": *a log captured during the whole test run contains
no NSS, CURP, password or token*. So this plugin

1. at start-up wraps ``logging.Logger.handle`` so every record any logger
   handles (uvicorn's, which do not propagate, included) is written, message
   and traceback, to ``seguro-bot-test-run-<pid>.log`` in the temp folder
   (``LOG_AUDIT_FILE`` overrides), as production writes it: through
   :class:`bot.logging.PersonalDataFilter` (the filter on the service's log
   handler) but *without* the configured secrets, so a token passes the
   check only if it was never logged at all (the Telegram redactor on the
   emitting loggers runs first, as in production);
2. collects the secrets the tests use: every valid NSS and CURP written in
   the test files and the knowledge base's conversation tests (found with
   the same validators the bot uses), every password (string literals the
   bot's own password detector flags, and ``password=…`` values), and every
   token or webhook secret of the tests and the fakes;
3. sets ``SEGURO_BOT_LOG_AUDIT`` to a folder next to that file, which every
   subprocess inherits (``run_cli``'s purge, export, forget, chat, simulate;
   the ``serve`` processes of the multi-worker and fault tests):
   :func:`bot.logging.install` then also writes each record there, masked as
   production masks it but without the secrets, tracebacks included;
   ``run_cli`` keeps each subprocess's captured stderr there too
   (:func:`keep_output`), and the fault tests' ``serve-*.log`` files (their
   servers' stderr) are searched where they are;
4. at the end of the session searches all of it and fails the run (exit
   status 1, with a report of what leaked where, values masked) if any appears.
"""
from __future__ import annotations

import ast
import copy
import json
import logging
import os
import re
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.logging import PersonalDataFilter

REPO = Path(__file__).resolve().parent.parent
SCANNED = [*sorted(p for p in (REPO / "tests").rglob("*.py") if p.name != "log_audit.py"), *sorted((REPO / "knowledge" / "tests").glob("*.yaml")),
           *sorted((REPO / "tests" / "heldout").rglob("*.*"))]
#: Tokens and secrets set in tests and fakes (found by name in the sources too).
_SECRET_ASSIGN = re.compile(
    r"""(?ix)\b(?:auth_token|bot_token|webhook_secret|token|secret|password|passwd)\w*
        \s*[=:]\s*(?:\(\s*)?["']([^"'\s]{6,})["']""")
_NOT_SECRETS = {"application/json", "X-Telegram-Bot-Api-Secret-Token", "wrong-token", "secret-detail"}
#: A literal that is nothing but a password (no cue word) counts only if it looks like one:
#: letters, digits and a symbol, none of the characters of paths, URLs, addresses or code.
_BARE_PASSWORD = re.compile(r"(?=.*[A-Za-z])(?=.*[0-9])(?=.*[#!$&*@])[A-Za-z0-9#!$&*@_.]{6,40}")
#: Password words, as students misspell them, for the audit's own (independent) password finder.
_CUE = re.compile(r"(?i)contra[sc]e?[ñn]i?a|c0ntrase|password|passw|psswd|\bpass\b|\bclave\b|\bnip\b")
#: Candidate values: letters and digits (and a few symbols), 6 to 40 characters.
_NEAR_CUE = re.compile(r"(?<![\w/])([A-Za-z0-9][A-Za-z0-9!#$&*@._-]{5,39})(?![\w/])")
#: Not passwords although they mix letters and digits: ids, NSS/CURP, numbers with units, URL bits.
_NOT_PASSWORD = re.compile(r"(?i)^(?:[A-Z]{4}\d{6}|\d+[a-z]{0,3}$|SM[0-9a-f]|MM[0-9a-f]|HX|AC[0-9a-f]|whatsapp|https?|www\.)")
#: Files tests keep a subprocess's stderr in, searched under the run's temp folder.
OUTPUT_GLOBS = ("serve-*.log",)
AUDIT_ENV = "SEGURO_BOT_LOG_AUDIT"


def keep_output(text: str | None, label: str = "output") -> None:
    """Add a subprocess's captured stderr to the audited logs (no-op outside an audited run)."""
    folder = os.environ.get(AUDIT_ENV)
    if not folder or not text:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    with (Path(folder) / f"{os.getpid()}-{label}.stderr").open("a", encoding="utf-8",
                                                              errors="backslashreplace") as fh:
        fh.write(text if text.endswith("\n") else text + "\n")


class _Recorder:
    """Writes every record that any logger handles, once, as production's handler would write it.

    Not a ``logging.Handler`` on purpose: ``logging.config.dictConfig`` (run by
    every uvicorn test server) closes every existing handler and replaces the
    handlers of the loggers it configures. Instead ``Logger.handle`` is wrapped,
    so records of loggers that do not propagate (uvicorn's) are seen too, after
    the logger's own filters (the Telegram token redactor is one) ran.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stream = path.open("w", encoding="utf-8", errors="backslashreplace")
        self.formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.count = 0
        self._original = logging.Logger.handle
        # What production's handler does to every line (bot.logging.install), minus the
        # configured secrets: tokens must never be logged at all, not merely be masked.
        self.masking = PersonalDataFilter()

    def write(self, record: logging.LogRecord) -> None:
        clone = copy.copy(record)  # other handlers (caplog) keep the record as logged
        try:
            self.masking.filter(clone)
            line = self.formatter.format(clone)
        except Exception:
            line = f"{record.name}: {record.msg!r} {record.args!r}"
        self.stream.write(line + "\n")
        self.count += 1

    def install(self) -> None:
        original = self._original
        recorder = self

        def handle(logger: logging.Logger, record: logging.LogRecord) -> None:
            original(logger, record)
            if not logger.disabled and logger.filter(record):
                recorder.write(record)

        logging.Logger.handle = handle  # type: ignore[method-assign]

    def uninstall(self) -> None:
        logging.Logger.handle = self._original  # type: ignore[method-assign]
        self.stream.close()


def _literals(path: Path) -> list[str]:
    if path.suffix != ".py":
        return [path.read_text(encoding="utf-8", errors="replace")]
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return [path.read_text(encoding="utf-8", errors="replace")]
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def known_secrets() -> dict[str, str]:
    """secret value → kind, from the test sources and the fakes."""
    from flows.entities import curp_problem, find_secrets, nss_problem

    found: dict[str, str] = {}
    for path in SCANNED:
        source = path.read_text(encoding="utf-8", errors="replace")
        for value in _SECRET_ASSIGN.findall(source):
            if value not in _NOT_SECRETS:
                found.setdefault(value, "token/password")
        for text in _literals(path):
            for typed in re.findall(r"(?<![0-9])[0-9][0-9 .\-]{9,20}[0-9](?![0-9])", text):
                digits = re.sub(r"[^0-9]", "", typed)
                if len(digits) == 11 and nss_problem(digits) is None:
                    found.setdefault(digits, "NSS")
                    found.setdefault(typed, "NSS")
            for curp in re.findall(r"[A-Z]{4}[0-9]{6}[HMX][A-Z]{5}[0-9A-Z][0-9]", text):
                if curp_problem(curp) is None:
                    found.setdefault(curp, "CURP")
            if len(text) < 400:
                for start, end in find_secrets(text):
                    value = text[start:end].strip(" .,;:!?\"'")
                    bare = value == text.strip(" .,;:!?\"'")
                    if bare and not _BARE_PASSWORD.fullmatch(text.strip()):
                        continue  # a path, an address, an id: the detector's guess, not a test's password
                    if len(value) >= 6 and " " not in value and re.search(r"[0-9#!.$%&*@_-]", value):
                        found.setdefault(value, "password")
            # Independently of the bot's detector (which this audit also checks): a word with
            # letters and digits near a password word is a test's password, found or not.
            if len(text) < 400 and _CUE.search(text):
                for value in _NEAR_CUE.findall(text):
                    if (re.search(r"[A-Za-z]", value) and re.search(r"[0-9]", value)
                            and not _NOT_PASSWORD.match(value) and not _CUE.search(value)):
                        found.setdefault(value, "password")
    from tests.fakes import telegram, twilio

    found[twilio.AUTH_TOKEN] = "Twilio auth token"
    found[telegram.TOKEN.split(":", 1)[1]] = "Telegram bot token"
    return found


def scan(path: Path, secrets: dict[str, str]) -> list[tuple[str, str, int]]:
    """(kind, masked value, first line number) for every secret found in the file."""
    leaks: list[tuple[str, str, int]] = []
    forms = {form: (kind, value) for value, kind in secrets.items()
             for form in {value, quote(value, safe=""), json.dumps(value)[1:-1]}}
    with path.open(encoding="utf-8", errors="replace") as fh:
        seen: set[str] = set()
        for number, line in enumerate(fh, 1):
            for form, (kind, value) in forms.items():
                if value not in seen and form in line:
                    seen.add(value)
                    leaks.append((kind, value[:2] + "*" * (len(value) - 2), number))
    return leaks


class LogAudit:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        default = Path(tempfile.gettempdir()) / f"seguro-bot-test-run-{os.getpid()}.log"
        self.path = Path(os.environ.get("LOG_AUDIT_FILE") or default)
        self.folder = self.path.with_name(self.path.name + ".d")  # the subprocesses' logs and stderr
        self.recorder = _Recorder(self.path)
        self.leaks: list[tuple[str, str, str]] = []
        self.files: list[Path] = []

    def start(self) -> None:
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        os.environ[AUDIT_ENV] = str(self.folder)  # every subprocess the tests start inherits it
        self.recorder.install()
        root = logging.getLogger()
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
        for name in ("bot", "flows", "knowledge"):
            logging.getLogger(name).setLevel(logging.DEBUG)

    def audited_files(self, session: pytest.Session) -> list[Path]:
        """This process's log, every subprocess's log and kept stderr, and the tests' ``serve-*.log``."""
        files = [self.path, *sorted(p for p in self.folder.glob("*") if p.is_file())]
        factory = getattr(session.config, "_tmp_path_factory", None)
        try:
            base = factory.getbasetemp() if factory is not None else None
        except Exception:  # no temp folder was made in this run
            base = None
        if base is not None and base.exists():
            files += sorted(p for pattern in OUTPUT_GLOBS for p in base.rglob(pattern) if p.is_file())
        return files

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.recorder.stream.flush()
        secrets = known_secrets()
        self.files = self.audited_files(session)
        self.leaks = [(kind, masked, f"{path}:{line}") for path in self.files
                      for kind, masked, line in scan(path, secrets)]
        if self.leaks and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.leaks:
            terminalreporter.section("secrets in the test run's log", red=True)
            for kind, masked, where in self.leaks:
                terminalreporter.write_line(f"{kind} {masked} first at {where}")
        else:
            terminalreporter.write_line(
                f"log audit: {self.recorder.count} records here and {len(self.files) - 1} subprocess logs, "
                f"no NSS, CURP, password or token ({self.path}, {self.folder})")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.recorder.uninstall()


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.has_plugin("seguro-bot-log-audit"):
        return
    audit = LogAudit(config)
    audit.start()
    config.pluginmanager.register(audit, "seguro-bot-log-audit")
