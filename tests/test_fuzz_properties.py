"""Property-based tests (hypothesis, bounded) on normalisation, masking and the flow's state machine.

They extend ``test_entities.py`` (``flows.entities``) (no extraction function raises; candidates
are well formed) and ``test_machine.py`` (random texts never make the
machine raise): here the matcher's normalisation, the log masking of
generated personal data, and conversations built from the words that move
the flow (menu numbers, yes/no, data, dates, escalation cues) mixed with
noise, checking after every turn that the state is one the machine can be in.
"""
from __future__ import annotations

import json
import math
import unicodedata
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import entities
from flows.escalation import ESCALATION_STAGES as ESCALATION_STAGES_OF_FLOWS, FIELDS
from flows.machine import advance
from flows.messages import Incoming, OpenTicket
from flows.procedure import STAGES
from knowledge.loader import load

KB = load()
MATCHER = KB.matcher
TZ = ZoneInfo("America/Hermosillo")
START = datetime(2026, 2, 10, 10, 0, tzinfo=TZ)
ESCALATION_STAGES = set(ESCALATION_STAGES_OF_FLOWS)
VALID_STAGES = set(STAGES) | ESCALATION_STAGES
BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SPANISH = st.text(alphabet="abcdefghijklmnopqrstuvwxyzáéíóúñü ¿?¡!.,0123456789", max_size=120)
EMOJI = st.sampled_from(["😀", "🙏🏽", "🇲🇽", "❤️", "👍", "\u200b", "\u200d", "\ufeff"])


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


# --- normalisation (knowledge.matcher) --------------------------------------------------------


@BOUNDED
@given(st.text(max_size=400))
def test_tokens_are_clean_words_for_any_text(text: str) -> None:
    tokens = MATCHER.tokens(text)
    assert all(t and not any(c.isspace() for c in t) for t in tokens)
    assert MATCHER.normalise(text) == " ".join(tokens)
    match = MATCHER.classify(text)
    assert match.topic is None or match.topic in KB.topics
    assert all(math.isfinite(score) for _, score in match.ranked)


@BOUNDED
@given(SPANISH)
def test_normalisation_ignores_case_and_accents(text: str) -> None:
    tokens = MATCHER.tokens(text)
    assert MATCHER.tokens(text.upper()) == tokens
    assert MATCHER.tokens(strip_accents(text)) == tokens


@BOUNDED
@given(SPANISH, st.lists(EMOJI, min_size=1, max_size=5))
def test_emojis_and_invisible_characters_between_words_change_nothing(text: str, extra: list[str]) -> None:
    decorated = " ".join(text.split(" ")) + " " + " ".join(extra)
    assert MATCHER.tokens(decorated) == MATCHER.tokens(text)


INVISIBLE = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u202a"])


@BOUNDED
@given(SPANISH, st.lists(st.tuples(st.integers(0, 200), INVISIBLE), min_size=1, max_size=8))
def test_invisible_characters_inside_words_change_nothing(text: str, inserts: list[tuple[int, str]]) -> None:
    decorated = text
    for at, ch in inserts:
        at %= len(decorated) + 1
        decorated = decorated[:at] + ch + decorated[at:]
    assert MATCHER.tokens(decorated) == MATCHER.tokens(text)
    assert MATCHER.classify(decorated).topic == MATCHER.classify(text).topic


@pytest.mark.parametrize("text, plain", [("requi\u200dsitos", "requisitos"), ("h\u200bo\u200bl\u200ba", "hola"),
                                         ("vi\u00adgen\u2060cia", "vigencia")])
def test_a_word_split_by_invisible_characters_finds_its_topic(text: str, plain: str) -> None:
    match = MATCHER.classify(text)
    assert match.topic is not None and match.topic == MATCHER.classify(plain).topic


# --- masking generated personal data (flows.entities.mask_personal) ---------------------------------


@st.composite
def nss_numbers(draw: st.DrawFn) -> str:
    first10 = draw(st.from_regex(r"[1-9][0-9]{9}", fullmatch=True))
    return first10 + str(entities.nss_check_digit(first10))


@st.composite
def curps(draw: st.DrawFn) -> str:
    letters = draw(st.from_regex(r"[A-Z]{4}", fullmatch=True))
    year, month, day = draw(st.integers(0, 99)), draw(st.integers(1, 12)), draw(st.integers(1, 28))
    sex = draw(st.sampled_from("HM"))
    state = draw(st.sampled_from(sorted(entities.CURP_STATES)))
    consonants = draw(st.from_regex(r"[B-DF-HJ-NP-TV-Z]{3}", fullmatch=True))
    first17 = f"{letters}{year:02d}{month:02d}{day:02d}{sex}{state}{consonants}" + draw(st.sampled_from("0A"))
    return first17 + entities.curp_check_digit(first17)


AROUND = st.sampled_from(["mi nss es {}", "{}", "NSS: {} gracias", "curp {} y ya", "datos: {}, ok",
                          "error con {} al guardar", "{}\n{}"])


@BOUNDED
@given(nss_numbers(), curps(), AROUND, st.text(max_size=40))
def test_generated_nss_and_curp_never_survive_masking(nss: str, curp: str, template: str, noise: str) -> None:
    assert entities.nss_problem(nss) is None
    text = template.format(nss, curp) + " " + noise
    masked = entities.mask_personal(text)
    assert nss not in masked.replace(" ", "").replace("-", "")
    assert curp not in masked.upper()


@BOUNDED
@given(nss_numbers(), st.sampled_from([" ", "-", ".", "\u200b", "\u200d"]))
def test_separated_or_invisible_split_nss_is_masked_too(nss: str, sep: str) -> None:
    split = sep.join([nss[:2], nss[2:4], nss[4:6], nss[6:10], nss[10:]])
    masked = entities.mask_personal(f"mi nss es {split}")
    digits = "".join(c for c in masked if c.isdigit())
    assert nss not in digits


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@BOUNDED
@given(nss_numbers(), curps(), st.sampled_from(["json", "fullwidth", "groups", "url", "plus"]))
def test_disguised_nss_and_curp_never_survive_masking(nss: str, curp: str, disguise: str) -> None:
    text = f"mi contraseña es Cajeme2024! nss {nss} curp {curp}"
    if disguise == "json":
        text = "".join(f"\\u{ord(c):04x}" if c.isdigit() and ord(c) % 2 else c for c in text)
        text = text.replace("ñ", "\\u00f1")  # as json.dumps (ensure_ascii) writes it
    elif disguise == "fullwidth":
        text = _fullwidth(text)
    elif disguise == "groups":
        text = text.replace(curp, f"{curp[:4]} {curp[4:10]}-{curp[10:]}")
    elif disguise == "url":
        text = "GET /console/inbox?q=" + "".join(f"%{b:02X}" for b in text.encode())
    else:
        text = "GET /console/inbox?q=" + text.replace(" ", "+")
    masked = entities.mask_personal(text)
    plain = "".join(c for c in masked if c.isalnum()).upper()
    assert nss not in plain and curp not in plain and "CAJEME2024" not in plain, (text, masked)
    assert curp[4:10] not in masked and nss[2:] not in masked


# --- the state machine (flows.machine.advance) -------------------------------------------------------


MOVES = st.one_of(
    st.sampled_from([
        "hola", "menú", "1", "2", "3", "4", "5", "9", "0", "sí", "si", "no", "ya", "no sé", "gracias",
        "quiero hablar con una persona", "me equivoqué en mi CURP", "sigo sin vigencia",
        "me sale error al guardar la solicitud", "la guardé el viernes", "ayer", "hace 10 días",
        "el 3 de febrero", "ya aparezco vigente", "no aparezco", "mi contraseña es Cajeme2024!",
        "Mi matrícula es 00000123456", "me llamo Ana López García", "12345678903", "BOXW310820HNERXN09",
        "mi nss es 12345678904", "curp BOXW310820HNERXN08", "00000", "corregir el nss", "cancelar",
    ]),
    nss_numbers(), curps(), st.text(max_size=80),
)


def check_state(state: dict, actions: list) -> None:
    """What every state the machine returns must satisfy."""
    json.dumps(state)  # stored as JSON
    assert state["stage"] in VALID_STAGES, state["stage"]
    esc = state.get("esc")
    if state["stage"] in ESCALATION_STAGES:
        assert isinstance(esc, dict) and esc.get("reason")
    pending = ((esc or {}).get("pending") or {}).get("data") or {}
    unverified = (esc or {}).get("nss_unverified")
    unverified_curp = (esc or {}).get("curp_unverified")
    for data in [(esc or {}).get("data") or {}, pending]:
        check_data(data, unverified_nss=unverified, unverified_curp=unverified_curp)
    check_data(state.get("known") or {})
    for action in actions:
        if isinstance(action, OpenTicket):
            flagged = action.data.get("nss") if action.data.get("nss_unverified") == "sí" else None
            flagged_curp = action.data.get("curp") if action.data.get("curp_unverified") == "sí" else None
            check_data({k: v for k, v in action.data.items() if k in FIELDS}, unverified_nss=flagged,
                       unverified_curp=flagged_curp)


def check_data(data: dict, unverified_nss: str | None = None, unverified_curp: str | None = None) -> None:
    """Escalation data holds only valid items: nothing the validators refuse ever gets in, except
    an NSS or a CURP whose check digit fails that the student sent twice, flagged as unverified (README)."""
    assert set(data) <= set(FIELDS) | {"description"}, data
    if data.get("nss") and not (data["nss"] == unverified_nss and entities.nss_problem(data["nss"]) == "check"):
        assert entities.nss_problem(data["nss"]) is None
    if data.get("curp") and not (data["curp"] == unverified_curp and entities.curp_problem(data["curp"]) == "check"):
        assert entities.curp_problem(data["curp"]) is None
    if data.get("student_id"):
        assert entities.student_id_problem(data["student_id"]) is None
    for value in data.values():
        assert entities.REDACTED_SECRET not in str(value) and "Cajeme2024!" not in str(value)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(MOVES, st.integers(0, 72 * 60)), min_size=1, max_size=12))
def test_conversations_of_meaningful_moves_keep_the_machine_in_a_valid_state(moves: list) -> None:
    state = None
    at = START
    for text, minutes in moves:
        at = at + timedelta(minutes=minutes)
        out = advance(state, Incoming(text=text, at=at), KB)
        assert out.replies and all(r.text.strip() for r in out.replies)
        check_state(out.state, list(out.actions))
        assert "Cajeme2024!" not in out.stored_text
        state = out.state
