"""Extraction, validation and masking of what students type (flows.entities)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows import entities as ent
from flows.entities import (
    REDACTED_SECRET,
    curp_check_digit,
    curp_problem,
    find_curp_candidates,
    find_name,
    find_nss_candidates,
    find_secrets,
    find_student_id_candidates,
    looks_like_name,
    mask_personal,
    mentions_date,
    normalise_student_id,
    nss_check_digit,
    nss_problem,
    parse_date,
    redact_secrets,
    student_id_problem,
)

HMO = ZoneInfo("America/Hermosillo")
NOW = datetime(2026, 2, 12, 10, 15, tzinfo=HMO)  # Thursday

# ================================================================= NSS


def test_nss_check_digit() -> None:
    assert nss_check_digit("1234567890") == 3
    assert nss_check_digit("2617031245") == 3
    assert nss_check_digit("0000000000") == 0
    with pytest.raises(ValueError):
        nss_check_digit("12345")
    with pytest.raises(ValueError):
        nss_check_digit("12345a7890")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("12345678903", None),
        ("1234 5678 903", None),
        ("12-3456-7890-3", None),
        ("26170312453", None),
        ("26170312458", "check"),
        ("12345678904", "check"),
        ("1234567890", "length"),
        ("123456789012", "length"),
        ("", "length"),
        ("1234567890a", "digits"),
        ("nss", "digits"),
        ("１２３４５６７８９０３", "digits"),  # full-width digits are not ASCII
    ],
)
def test_nss_problem(value: str, problem: str | None) -> None:
    assert nss_problem(value) == problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mi nss es 12345678903", ["12345678903"]),
        ("nss: 2617 03 12458 gracias", ["26170312458"]),
        ("2617-03-12458", ["26170312458"]),
        ("es el 1234567890", ["1234567890"]),  # 10 digits: reported, to say one is missing
        ("123456789012", ["123456789012"]),
        ("1234567890123", []),  # too long: not an NSS
        ("mi id 00000234567", []),  # a student ID is not an NSS
        ("mi nss es 2617 03 12458 y mi id 00000234567", ["26170312458"]),
        ("2617 03 12458 00000234567", ["26170312458"]),
        ("12345678903 y 26170312458", ["12345678903", "26170312458"]),
        ("12345678903 otra vez 12345678903", ["12345678903"]),
        ("mi cel es 644 420 7351", []),
        ("+52 644 420 7351", []),
        ("cel 6444207351 y nss 12345678903", ["12345678903"]),
        ("tel: 644 420 73 51 nss: 1234567890 3", ["12345678903"]),  # check digit apart
        ("el 09/02/2026 a las 8:00", []),
        ("", []),
    ],
)
def test_find_nss_candidates(text: str, expected: list[str]) -> None:
    assert find_nss_candidates(text) == expected


def test_find_nss_candidates_ignores_zero_width_chars() -> None:
    assert find_nss_candidates("1234\u200b5678903") == ["12345678903"]


# ================================================================= CURP

VALID_CURP = "BOXW310820HNERXN09"


def test_curp_check_digit() -> None:
    assert curp_check_digit(VALID_CURP[:17]) == "9"
    assert curp_check_digit(VALID_CURP) == "9"  # only the first 17 count
    with pytest.raises(ValueError):
        curp_check_digit("BOXW3108")
    with pytest.raises(ValueError):
        curp_check_digit("BOXW310820HNERX-0")


def with_check(first17: str) -> str:
    return first17 + curp_check_digit(first17)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (VALID_CURP, None),
        ("boxw310820hnerxn09", None),
        ("  BOXW310820HNERXN09 \n", None),
        ("BOXW 310820 HNERXN09", None),
        ("BOXW310820HNERXN08", "check"),
        ("BOXW310820HNERXN0", "length"),
        ("BOXW310820HNERXN091", "length"),
        ("", "length"),
        ("BOXW310820ZNERXN09", "sex"),
        ("BOXW3108201NERXN09", "format"),
        ("BOX1310820HNERXN09", "format"),
        ("BOXW310820HNEAXN09", "format"),  # a vowel among the inner consonants
        ("BOXW311320HNERXN09", "date"),  # month 13
        ("BOXW310230HNERXN09", "date"),  # 30 February
        ("BOXW310820HZZRXN09", "state"),
    ],
)
def test_curp_problem(value: str, problem: str | None) -> None:
    assert curp_problem(value) == problem


def test_curp_accepts_sex_x_and_born_abroad() -> None:
    assert curp_problem(with_check("BOXW310820XNERXN0")) is None
    assert curp_problem(with_check("BOXW310820MNERXN0")) is None
    assert curp_problem(with_check("GOMA010101HSRRRN0")) is None  # Sonora


def test_curp_century_comes_from_the_differentiator() -> None:
    # 29 Feb 2000 exists (letter differentiator: born 2000 or later) ...
    assert curp_problem(with_check("GOMA000229MSRRRNA")) is None
    # ... 29 Feb 1900 does not (digit differentiator: born up to 1999)
    assert curp_problem(with_check("GOMA000229MSRRRN0")) == "date"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mi curp es BOXW310820HNERXN09", ["BOXW310820HNERXN09"]),
        ("curp: boxw310820hnerxn09.", ["BOXW310820HNERXN09"]),
        ("BOXW310820HNERXN0 creo", ["BOXW310820HNERXN0"]),  # near miss kept
        ("BOXW310820HNERXN0912", ["BOXW310820HNERXN0912"]),
        ("BOXW310820HNERXN0 y BOXW310820HNERXN09", ["BOXW310820HNERXN0", "BOXW310820HNERXN09"]),
        ("BOXW310820 nada mas", []),
        ("HOLAMUNDOCOMOESTAS", []),
        ("12345678903", []),
        ("", []),
        # Typed in pieces, as read out loud.
        ("BOXW-310820-HNERXN09", ["BOXW310820HNERXN09"]),
        ("mi curp: BOXW 310820 HNERXN 09 gracias", ["BOXW310820HNERXN09"]),
        ("boxw.310820.hnerxn09", ["BOXW310820HNERXN09"]),
        ("soy Pedro Gomez BOXW 310820 HNERXN09", ["BOXW310820HNERXN09"]),
        ("hola como estas yo bien gracias", []),
    ],
)
def test_find_curp_candidates(text: str, expected: list[str]) -> None:
    assert find_curp_candidates(text) == expected


@pytest.mark.parametrize("text", ["BOXW 310820 HNERXN09", "BOXW-310820-HNERXN09", "Pedro BOXW 310820 HNERXN09"])
def test_the_birth_date_inside_a_curp_in_pieces_is_not_a_student_id(text: str) -> None:
    assert ent.find_student_id_candidates(text) == []
    assert ent.find_nss_candidates(text) == []


# ================================================================= student ID


@pytest.mark.parametrize(
    ("value", "normal"),
    [
        ("234567", "00000234567"),
        (" 234567 ", "00000234567"),
        ("00000234567", "00000234567"),
        ("00000 234567", "00000234567"),
        ("2345678", None),
        ("12345678903", None),
        ("00001234567", None),
        ("23456a", None),
        ("", None),
    ],
)
def test_normalise_student_id(value: str, normal: str | None) -> None:
    assert normalise_student_id(value) == normal
    assert student_id_problem(value) == (None if normal else "format")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mi id es 00000234567", ["00000234567"]),
        ("ID: 234567", ["00000234567"]),
        ("matricula 234567 nss 12345678903", ["00000234567"]),
        ("nss 12345678903, id 234567", ["00000234567"]),
        ("00000198765 y 00000215432", ["00000198765", "00000215432"]),
        ("lo guarde el 09/02/2026", []),
        ("vivo en el cp 85000, id 234567", ["00000234567"]),
        ("mi cp es 850001", []),
        ("codigo postal: 850001", []),
        ("curp BOXW310820HNERXN09", []),
        ("1234567", []),
        ("pague $123456", []),
        ("12345678903", []),
        # with some of its leading zeros, or in two groups after its name (walk-through 9)
        ("id: 00234567", ["00000234567"]),
        ("mi id es 234 567", ["00000234567"]),
        ("tengo 234 567 pesos", []),
        ("el 01234567 fue", []),
        ("", []),
    ],
)
def test_find_student_id_candidates(text: str, expected: list[str]) -> None:
    assert find_student_id_candidates(text) == expected


# ================================================================= names


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("me llamo juan perez lopez y mi id es 234567", "Juan Perez Lopez"),
        ("Mi nombre es María de la Luz Pérez, mi NSS es 12345678903", "María de la Luz Pérez"),
        ("hola soy Juan Perez Lopez de ingenieria", "Juan Perez Lopez"),
        ("soy ana garcia ruiz", "Ana Garcia Ruiz"),
        ("nombre: ana garcia\nid 234567", "Ana Garcia"),
        ("nombre completo: JOSE LUIS O'CONNOR PEREZ-LOPEZ", "Jose Luis O'Connor Perez-Lopez"),
        ("me llamo Juan Pérez y necesito ayuda", "Juan Pérez"),
        ("mi nombre es juan perez id 234567", "Juan Perez"),
        ("mi nombre es juan perez curp BOXW310820HNERXN09", "Juan Perez"),
        ("soy estudiante de ingenieria", None),
        ("soy juan", None),
        ("soy de navojoa", None),
        ("solo mi id: 234567 y mi nombre Luis Angel Soto", "Luis Angel Soto"),  # "y mi nombre …", no "es"
        ("y mi nombre esta mal escrito", None),
        ("me llamo 234567", None),
        ("hola buenas tardes", None),
        ("", None),
    ],
)
def test_find_name(text: str, name: str | None) -> None:
    assert find_name(text) == name


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("Maria de la Luz Perez", True),
        ("juan perez", True),
        ("José O'Connor Pérez-López", True),
        ("Ana Sofía Núñez Ibarra.", True),
        ("Juan", False),
        ("hola buenas tardes", False),
        ("no se cual es", False),
        ("ya lo hice gracias", False),
        ("quiero ayuda", False),
        ("Juan Perez 2", False),
        ("de la", False),
        ("uno dos tres cuatro cinco seis siete", False),
        ("", False),
    ],
)
def test_looks_like_name(text: str, ok: bool) -> None:
    assert looks_like_name(text) is ok


# ================================================================= passwords

SECRET_POSITIVES = [
    ("mi id es 00000234567 y mi contra es Yaqui2024! me lo pueden tramitar", "Yaqui2024!"),
    ("usuario 00000198765 contraseña: Obregon#2005", "Obregon#2005"),
    ("ID 00000215432 pass cajeme123 ahi me haces la solicitud", "cajeme123"),
    ("mi contrasena es cajeme", "cajeme"),
    ("password:hola1234", "hola1234"),
    ("mi clave del cia es Tecno2023", "Tecno2023"),
    ("nip 4821", "4821"),
    ("la contraseña es \"mi perro 12\"", "\"mi perro 12\""),
    ("te paso mi contraseña por si acaso. Yaqui2024!", "Yaqui2024!"),
    # a relative clause between the cue and the value
    ("la contraseña que tengo es Kino4455", "Kino4455"),
    ("la contraseña que uso es bichi2023 y el id 234567", "bichi2023"),
    ("la contrasena q uso es Pitahaya12", "Pitahaya12"),
    ("la contra que me dieron es Navojoa77", "Navojoa77"),
    # the value before its cue
    ("Cocorit88 es mi contraseña", "Cocorit88"),
    ("ya no entro, Etchojoa#1 era mi contraseña del cia", "Etchojoa#1"),
    # a word of letters and digits anywhere near the word, however the sentence goes
    ("me pide contraseña y pongo Sonora2024 y no entra", "Sonora2024"),
    ("mi contraseña la cambié a Cocorit2024", "Cocorit2024"),
    ("mi contraseña del CIA la tengo como Sonora2024", "Sonora2024"),
    ("mi contraseña 👉 Sonora2024", "Sonora2024"),
    ("Sonora2024\n(es mi contraseña)", "Sonora2024"),
    # the word misspelt
    ("mi contraceña es Navojoa2024", "Navojoa2024"),
    ("mi c0ntraseña es Kino2024", "Kino2024"),
    ("psswd Sonora2024", "Sonora2024"),
    # no word "contraseña": a message about logging in, and a value that can only be one
    ("no puedo entrar al cia, ya intente con Tigre#99 y no me deja", "Tigre#99"),
    ("ya me acorde, es Tigre#99", "Tigre#99"),
    ("intente con Sonora2024 y no entra", "Sonora2024"),
    # the ninth walk-through: "clave del CIA" can only be the password; a user and its password
    ("te paso mi clave del cia para que lo hagas tu: luis2003", "luis2003"),
    ("usuario 00000234567 / Tigre#2025", "Tigre#2025"),
]


@pytest.mark.parametrize(("text", "secret"), SECRET_POSITIVES)
def test_find_secrets_positives(text: str, secret: str) -> None:
    spans = find_secrets(text)
    assert [text[s:e] for s, e in spans] == [secret]
    redacted, found = redact_secrets(text)
    assert found is True
    assert secret not in redacted
    assert REDACTED_SECRET in redacted


@pytest.mark.parametrize(
    "text",
    [
        "olvide la contraseña de mi correo itson como la cambio",
        "nunca te voy a dar mi contraseña",
        "mi contraseña del cia no sirve",
        "mi contraseña es incorrecta",
        "mi contraseña es la misma que mi matricula",
        "estoy en contra de eso",
        "la clave de error es E-102",  # "clave" alone does not make E-102 suspect
        "no me acuerdo de mi contraseña?",
        "Yaqui2024! es mi equipo favorito",  # no cue: not flagged
        "mi nss es 12345678903 y mi curp BOXW310820HNERXN09",
        "la contraseña que tengo no sirve",
        "la contraseña que me dieron no funciona",
        "mi contraseña que puse ayer es incorrecta",
        "esa es mi contraseña?",
        "cual es mi contraseña",
        "mi contraseña no sirve desde el 2do semestre",
        "olvidé mi contraseña del cia, mi id es 00000123456 y mi curp BOXW310820HNERXN09",
        "no me deja entrar con mi contraseña, me sale error 500",
        # about logging in, and nothing that can only be a password
        "no puedo entrar, me sale ERR-500",
        "no puedo entrar al cia desde el celular, son las 10:30am",
        "no puedo entrar a www.itson.mx/cia",
        "ingrese con mi correo juan.perez2@itson.edu.mx",
        "entre al cia con mi curp boxw310820hnerxn09",
        "ya entre, voy en el 2do paso",
        "ya entre al cia, mi id es 123456 y mi nss 1234-567-8903",
        "mi usuario es 00000234567",
        "la clave del tramite es IMSS-02-012",
        "",
    ],
)
def test_find_secrets_negatives(text: str) -> None:
    assert find_secrets(text) == []
    assert redact_secrets(text) == (text, False)


def test_redact_secrets_keeps_the_rest() -> None:
    text = "mi id es 00000234567 y mi contra es Yaqui2024! me lo pueden tramitar"
    assert redact_secrets(text) == (
        "mi id es 00000234567 y mi contra es [contraseña oculta] me lo pueden tramitar",
        True,
    )


def test_find_secrets_spans_refer_to_original_text_with_invisible_chars() -> None:
    text = "\u200bcontra\u200bseña: Abc#12 ok"
    spans = find_secrets(text)
    assert [text[s:e] for s, e in spans] == ["Abc#12"]


# ================================================================= dates

DATE_CASES = [
    ("el 9 de febrero", date(2026, 2, 9)),
    ("9 de feb", date(2026, 2, 9)),
    ("9/02", date(2026, 2, 9)),
    ("09/02/2026", date(2026, 2, 9)),
    ("9-2-26", date(2026, 2, 9)),
    ("01/09", date(2025, 9, 1)),
    ("el 10/11", date(2025, 11, 10)),
    ("18 de noviembre", date(2025, 11, 18)),
    ("el 1ro de octubre", date(2025, 10, 1)),
    ("el primero de octubre", date(2025, 10, 1)),
    ("EL 9 DE FEBRERO 😅", date(2026, 2, 9)),
    ("el 9 de febero", date(2026, 2, 9)),
    ("feb 9", date(2026, 2, 9)),
    ("el 14 de feb", date(2026, 2, 14)),  # two days ahead: still this year
    ("el 15 de feb", date(2026, 2, 15)),  # up to a month ahead: this year, for the flow to say it has not come
    ("el 20 de mar", date(2025, 3, 20)),  # more than a month ahead: last year
    ("9 de febrero de 2025", date(2025, 2, 9)),
    ("el lunes", date(2026, 2, 9)),
    ("el jueves", date(2026, 2, 5)),  # today is Thursday: the previous one
    ("este jueves", date(2026, 2, 12)),
    ("el viernes pasado", date(2026, 2, 6)),
    ("el sabado", date(2026, 2, 7)),
    ("el sábado", date(2026, 2, 7)),
    ("el lunes pasado 9 de feb", date(2026, 2, 9)),
    ("el lunes pasado 2 de feb", date(2026, 2, 2)),
    ("el viernes 11", date(2026, 2, 11)),  # no Friday 11 nearby: day number wins
    ("el lunes 9", date(2026, 2, 9)),
    ("el lunes 2", date(2026, 2, 2)),
    ("el dia 9", date(2026, 2, 9)),
    ("antier", date(2026, 2, 10)),
    ("antes de ayer", date(2026, 2, 10)),
    ("anteayer", date(2026, 2, 10)),
    ("ayer", date(2026, 2, 11)),
    ("ayer en la tarde", date(2026, 2, 11)),
    ("hoy", date(2026, 2, 12)),
    ("hoy en la mañana", date(2026, 2, 12)),
    ("acabo de guardarla", date(2026, 2, 12)),
    ("hace 3 dias", date(2026, 2, 9)),
    ("hace tres días", date(2026, 2, 9)),
    ("hace una semana", date(2026, 2, 5)),
    ("hace dos semanas", date(2026, 1, 29)),
    ("hace como 2 semanas", date(2026, 1, 29)),
    ("hace un mes", date(2026, 1, 12)),
    ("la semana pasada", date(2026, 2, 5)),
    ("la semana pasada, el martes", date(2026, 2, 3)),
    ("el viernes de la semana pasada", date(2026, 2, 6)),
    ("hoy sigo sin vigencia y la guarde ayer", date(2026, 2, 11)),
    ("mi nss 12345678903, lo guarde el 9 de feb", date(2026, 2, 9)),
    ("2026-02-09", date(2026, 2, 9)),
    ("la guarde hoy que entre al cia", date(2026, 2, 12)),
    ("el 3 de mzo", date(2026, 3, 3)),
    # a duration says the same as "hace …"
    ("ya van como dos semanas", date(2026, 1, 29)),
    ("ya tiene como 2 semanas", date(2026, 1, 29)),
    ("hace como 15 días", date(2026, 1, 28)),
    ("llevo 10 dias esperando", date(2026, 2, 2)),
    ("ahorita que saqué la constancia me sale que no y ya van como dos semanas", date(2026, 1, 29)),
    # today named with its weekday is today, not that weekday a week before
    ("la guarde hoy jueves", date(2026, 2, 12)),
    ("hoy que es jueves", date(2026, 2, 12)),
    ("la guarde el lunes y hoy jueves sigo sin nada", date(2026, 2, 9)),
    ("hoy lunes", date(2026, 2, 9)),  # today is Thursday: the Monday just gone
]


@pytest.mark.parametrize(("text", "expected"), DATE_CASES)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text, NOW) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hola",
        "a las 8:00",
        "mi nss es 12345678903",
        "mi id 00000234567",
        "2617-03-12458",
        "tengo 2 dudas",
        "31/02",
        "hace unos dias",
        "dice que 2-5 dias habiles",
        "de 8-10 am",
        "ahorita que saqué la constancia me sigue saliendo que no tengo derecho",  # when they checked
        "hoy que revisé sigo sin vigencia",
        "son 5 dias habiles",
        "el imss tiene 5 dias",
        "tengo 2 semanas para entregarlo",
    ],
)
def test_parse_date_none(text: str) -> None:
    assert parse_date(text, NOW) is None


def test_parse_date_uses_hermosillo_date_of_now() -> None:
    # 03:00 UTC on 13 Feb is 20:00 on 12 Feb in Hermosillo
    late = datetime(2026, 2, 13, 3, 0, tzinfo=timezone.utc)
    assert parse_date("ayer", late) == date(2026, 2, 11)
    assert parse_date("hoy", late) == date(2026, 2, 12)


def test_parse_date_weekday_prefers_matching_month() -> None:
    now = datetime(2026, 9, 15, 12, 0, tzinfo=HMO)  # Tuesday
    assert parse_date("el viernes 11", now) == date(2026, 9, 11)
    # day 20 has not come yet this month: the previous month's
    assert parse_date("el jueves 20", now) == date(2026, 8, 20)


def test_parse_date_monday_said_on_monday_is_last_week() -> None:
    monday = datetime(2026, 2, 16, 9, 0, tzinfo=HMO)
    assert parse_date("el lunes", monday) == date(2026, 2, 9)


def test_mentions_date() -> None:
    assert mentions_date("la guarde antier")
    assert mentions_date("el 29/02")
    assert not mentions_date("hola, como reviso mi vigencia?")
    assert not mentions_date("mi nss es 12345678903")


# ================================================================= masking


def test_mask_personal() -> None:
    text = (
        "soy juan, mi nss es 12345678903, curp BOXW310820HNERXN09, id 00000234567, "
        "cel +52 644 420 7351 y mi contra es Yaqui2024!"
    )
    masked = mask_personal(text)
    assert masked == (
        "soy juan, mi nss es 12*********, curp BOXW**************, id 00000******, "
        "cel +** *** *** **51 y mi contra es [contraseña oculta]"
    )


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("2617 03 12458", "26*********"),
        ("id 234567", "id ******"),
        ("tel 644-420-7351", "tel ***-***-**51"),
        ("lo guarde el 09/02/2026 a las 8:00", "lo guarde el 09/02/2026 a las 8:00"),
        ("1234\u200b5678903", "12*********"),
        ("mi correo es pedro.rs@gmail.com", "mi correo es p***@gmail.com"),
        ("", ""),
    ],
)
def test_mask_personal_cases(text: str, masked: str) -> None:
    assert mask_personal(text) == masked


# ================================================================= totality

TEXTS = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="0123456789 -./:+()", max_size=80),
    st.text(alphabet="abcdeñopqrsxyzABXHN0123456789 :!#", max_size=120),
    st.lists(
        st.sampled_from(
            [
                "contraseña", "pass", "es", ":", "mi", "nss", "curp", "soy", "me llamo",
                "el", "lunes", "9", "de", "feb", "/", "hace", "dos", "semanas", "00000",
                "234567", "12345678903", "BOXW310820HNERXN09", "\u200b", "\u202e", "🙂",
                "\n", "cp", "+52", "ayer", "Yaqui2024!", "\x00", "مرحبا",
            ]
        ),
        max_size=25,
    ).map(" ".join),
)

PURE_TEXT_FUNCTIONS = [
    nss_problem,
    find_nss_candidates,
    curp_problem,
    find_curp_candidates,
    normalise_student_id,
    student_id_problem,
    find_student_id_candidates,
    find_name,
    looks_like_name,
    find_secrets,
    redact_secrets,
    mentions_date,
    mask_personal,
]


@settings(max_examples=200, deadline=None)
@given(TEXTS)
def test_no_function_raises_on_any_text(text: str) -> None:
    for fn in PURE_TEXT_FUNCTIONS:
        fn(text)
    result = parse_date(text, NOW)
    assert result is None or isinstance(result, date)


@settings(max_examples=200, deadline=None)
@given(TEXTS)
def test_redaction_properties(text: str) -> None:
    spans = find_secrets(text)
    assert spans == sorted(spans)
    for s, e in spans:
        assert 0 <= s < e <= len(text)
    redacted, found = redact_secrets(text)
    assert found == bool(spans)
    if not found:
        assert redacted == text


@settings(max_examples=200, deadline=None)
@given(TEXTS)
def test_candidates_are_well_formed(text: str) -> None:
    for nss in find_nss_candidates(text):
        assert nss.isascii() and nss.isdigit() and 10 <= len(nss) <= 12
        assert not (len(nss) == 11 and nss.startswith("00000"))
    for sid in find_student_id_candidates(text):
        assert normalise_student_id(sid) == sid
    for curp in find_curp_candidates(text):
        assert 16 <= len(curp) <= 20 and curp == curp.upper()
    name = find_name(text)
    if name is not None:
        assert looks_like_name(name)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[0-9]{10}", fullmatch=True))
def test_generated_nss_is_valid_and_found(first10: str) -> None:
    nss = first10 + str(nss_check_digit(first10))
    assert nss_problem(nss) is None
    wrong = first10 + str((int(nss[-1]) + 1) % 10)
    assert nss_problem(wrong) == "check"
    if not nss.startswith("00000"):
        assert find_nss_candidates(f"mi nss es {nss} gracias") == [nss]
        assert nss not in mask_personal(f"nss {nss}")


def test_edge_inputs() -> None:
    huge = "contraseña: x1! " * 700 + "12345678903 " * 100
    assert len(huge) > 10_000
    assert redact_secrets(huge)[1] is True
    assert find_nss_candidates(huge) == ["12345678903"]
    for weird in ["\ud800", "\u202e\u2066", "\x00\x01\x1b", "\u0660\u0661", "ǅ" * 50]:
        for fn in PURE_TEXT_FUNCTIONS:
            fn(weird)
        assert parse_date(weird, NOW) is None


def test_package_is_pure() -> None:
    """The standard library and its own modules only (flows.entities.*), nothing else of flows."""
    import ast
    from pathlib import Path

    imported = set()
    for path in sorted(Path(ent.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
    stdlib = {"__future__", "difflib", "functools", "re", "typing", "unicodedata", "dataclasses", "datetime", "zoneinfo"}
    assert {name for name in imported if not name.startswith("flows.entities.")} <= stdlib


# ================================================================= audit additions

from flows.entities import looks_like_first_name, without_secret_phrases  # noqa: E402


@pytest.mark.parametrize("text", ["Cajeme2024!", "Yaqui2024", "  Obregon#2005  ", "tecno2023!"])
def test_a_message_that_is_only_a_password_is_caught(text: str) -> None:
    assert [text[s:e] for s, e in find_secrets(text)] == [text.strip()]


@pytest.mark.parametrize(
    "text",
    ["hola", "abc123", "12345678903", "00000234567", "234567", "BOXW310820HNERXN09", "boxw310820hnerxn09",
     "A123456", "COVID19", "9/02", "10:30am", "juan@itson.edu.mx", "https://www.itson.mx/cia", "Hola2", "gracias!",
     "Maria", "2do"],
)
def test_a_lone_word_number_or_code_is_not_a_password(text: str) -> None:
    assert find_secrets(text) == []


def test_the_words_introducing_a_password_go_with_it() -> None:
    redacted, _ = redact_secrets("234567 Juan Pérez López y mi contraseña del cia es Yaqui2024, ayuda")
    assert without_secret_phrases(redacted).split() == ["234567", "Juan", "Pérez", "López", "ayuda"]
    assert without_secret_phrases("sin nada que quitar") == "sin nada que quitar"


@pytest.mark.parametrize(("text", "ok"), [("Juan", True), ("María", True), ("no", False), ("Juan Pérez", False),
                                          ("1234", False), ("febrero", False)])
def test_looks_like_first_name(text: str, ok: bool) -> None:
    assert looks_like_first_name(text) is ok


def test_months_and_weekdays_are_not_names() -> None:
    assert not looks_like_name("lunes de febrero")


def test_parse_answer_date_reads_a_bare_day_and_spots_impossible_dates() -> None:
    from flows.entities import parse_answer_date

    now = datetime(2026, 3, 11, 10, 0, tzinfo=ZoneInfo("America/Hermosillo"))
    assert parse_answer_date("el 9", now) == (date(2026, 3, 9), None)
    assert parse_answer_date("el 30 de febrero", now) == (None, "invalid")
    assert parse_answer_date("mañana", now) == (date(2026, 3, 12), None)
    assert parse_answer_date("esta mañana", now) == (date(2026, 3, 11), None)
    assert parse_answer_date("hola", now) == (None, None)


@pytest.mark.parametrize(("text", "day"), [
    ("la guarde el 2", 2), ("fue el 3", 3), ("creo que el 5", 5), ("la mandé el día 4", 4),
    ("ya la guardé el 9", 9), ("guardé mi solicitud el 6", 6),
])
def test_a_day_of_the_month_after_the_verb_that_answers_the_question_is_read(text: str, day: int) -> None:
    from flows.entities import parse_answer_date

    now = datetime(2026, 3, 11, 10, 0, tzinfo=ZoneInfo("America/Hermosillo"))
    assert parse_answer_date(text, now) == (date(2026, 3, day), None)


@pytest.mark.parametrize("text", ["tengo 2", "el 2 gatos", "son 2 dias"])
def test_a_number_that_is_not_a_day_is_not_read_as_one(text: str) -> None:
    from flows.entities import parse_answer_date

    now = datetime(2026, 3, 11, 10, 0, tzinfo=ZoneInfo("America/Hermosillo"))
    assert parse_answer_date(text, now)[0] is None


def test_two_passwords_in_one_message_are_both_hidden() -> None:
    text = "ya intenté con Sonora2024 y con Sonora2025 como contraseña"
    assert [text[s:e] for s, e in find_secrets(text)] == ["Sonora2024", "Sonora2025"]
    assert "Sonora" not in redact_secrets(text)[0]


@pytest.mark.parametrize(("text", "name"), [
    ("Su matrícula es 234567, se llama Carlos Méndez Ruiz", "Carlos Méndez Ruiz"),
    ("mi hijo se llama Carlos Méndez Ruiz", "Carlos Méndez Ruiz"),
    ("I don't know my NSS", None),
])
def test_names_told_by_a_parent_and_english_sentences(text: str, name: str | None) -> None:
    assert ent.find_name(text) == name
    assert not ent.looks_like_name("I don't know my")


def test_a_name_is_written_with_its_particles_in_lower_case() -> None:
    assert ent.title_name("laura garcia ruiz de leon") == "Laura Garcia Ruiz de Leon"


@pytest.mark.parametrize(("text", "name"), [
    ("mi mamá se llama Rosa Martínez pero yo soy Luis Gómez Martínez", "Luis Gómez Martínez"),
    ("soy su mamá, mi hijo se llama Carlos Méndez Ruiz", "Carlos Méndez Ruiz"),
    ("my name is John Smith Pérez", "John Smith Pérez"),
    ("Hi, I'm an exchange student", None),
])
def test_the_students_own_name_is_preferred_to_a_relatives(text: str, name: str | None) -> None:
    assert ent.find_name(text) == name


def test_a_curp_with_the_letter_o_for_a_zero_is_found_and_refused_for_its_format() -> None:
    from flows import entities

    assert entities.find_curp_candidates("mi curp es GAMJO30415HSRRRNA9") == ["GAMJO30415HSRRRNA9"]
    assert entities.curp_problem("GAMJO30415HSRRRNA9") == "format"
    assert entities.find_curp_candidates("hola buenas tardes") == []


@pytest.mark.parametrize("text", ["I applied on August 17", "aug 17", "on Aug. 17th", "last monday (aug 17)",
                                  "the 17th of August"])
def test_english_month_days_are_read(text: str) -> None:
    """Walk-through 45: an exchange student's "August 17" was not understood (and "last monday
    (aug 17)" was read as the Monday before the message)."""
    now = datetime(2026, 8, 28, 16, 30, tzinfo=ZoneInfo("America/Hermosillo"))
    assert parse_date(text, now) == date(2026, 8, 17)


@pytest.mark.parametrize(("text", "expected"), [
    ("desde agosto del año pasado", "2025-08-31"),
    ("el tramite lo hizo desde agosto", "2025-08-31"),
    ("la hice en enero", "2026-01-31"),
    ("en febrero", "2026-02-18"),  # this month: never after today
    ("en marcha", None),
    ("para mayo ya estoy?", None),  # a month ahead is not a save day
])
def test_a_month_without_its_day_is_its_last_day_and_rough(text: str, expected: str | None) -> None:
    from datetime import datetime, timedelta, timezone

    from flows.entities.dates import is_approximate_date

    now = datetime(2026, 2, 18, 15, 0, tzinfo=timezone(timedelta(hours=-7)))
    got = parse_date(text, now)
    assert (got.isoformat() if got else None) == expected
    if expected:
        assert is_approximate_date(text)


@pytest.mark.parametrize("text", ["y mañana domingo puedo hablar con alguien?", "el proximo lunes",
                                  "el lunes que viene", "mañana lunes la hago"])
def test_a_weekday_to_come_is_not_a_day_gone_by(text: str) -> None:
    from datetime import datetime, timedelta, timezone

    assert parse_date(text, datetime(2026, 5, 23, 15, 0, tzinfo=timezone(timedelta(hours=-7)))) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("2318O456784", "23180456784"),  # the O of a valid NSS was a zero
    ("mi nss es 2318o456784 gracias", "mi nss es 23180456784 gracias"),
    ("2318O456785", "2318O456785"),  # not a valid NSS with a zero either: left as typed
    ("OOOOOOOOOOO", "OOOOOOOOOOO"),
    ("BOXW310820HNERXN09", "BOXW310820HNERXN09"),
])
def test_an_nss_typed_with_the_letter_o_is_read_with_the_zero_only_when_valid(text: str, expected: str) -> None:
    from flows.entities import letter_o_as_zero

    assert letter_o_as_zero(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # a save day taken back inside one message: the day said last
    ("la guarde el lunes 2 de febrero... no, fue el martes 3", date(2026, 2, 3)),
    ("la guarde el 2, no perdon, el 3 de febrero", date(2026, 2, 3)),
    ("fue el lunes, digo el martes", date(2026, 2, 10)),
    # "no" opening another statement is not a correction of the day
    ("la guarde el 3 de febrero, no me sale nada", date(2026, 2, 3)),
])
def test_a_day_corrected_inside_the_message_is_the_later_one(text: str, expected: date) -> None:
    assert parse_date(text, NOW) == expected
    if ent.mentions_saving(text):  # the clause the save day is read from keeps the correction
        assert parse_date(ent.saved_clause(text) or "", NOW) == expected


@pytest.mark.parametrize("text", ["ya la meti este sabado", "la subi el martes", "ya la ingrese ayer"])
def test_putting_it_in_or_uploading_it_is_saving_it(text: str) -> None:
    assert ent.mentions_saving(text)
