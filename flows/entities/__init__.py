"""What students type: find, validate and mask their personal data.

Students write on WhatsApp: no accents, typos, numbers split with spaces,
several data in one message ("mi id es 234567 y mi nss 2617 03 12458"). The
help desk needs a few of these values to open a ticket (student ID, full
name, NSS, CURP, the date the application was saved), must never keep a
password a student pastes by mistake, and must not write NSS/CURP in clear
to the logs.

Design rules:

* Every public function is **total on str input**: no exception for empty,
  huge, emoji, right-to-left, zero-width or control-character text. The
  conversation must go on whatever the student sends. (The two check-digit
  helpers are arithmetic on an already validated value and raise
  ``ValueError`` on a malformed one; the ``*_problem`` functions never do.)
* Finders return *candidates*; validators say what is wrong with one, as a
  short code the flows turn into a friendly question ("te faltó un dígito").
* Matching is done on a "folded" copy of the text (lower case, accents
  removed, invisible characters dropped) that has exactly one character per
  kept character, so positions map back to the student's own text.

Pure package: standard library only, nothing from ``bot`` or ``knowledge``. One concern a
module: ``text`` (folding, cleaning), ``ids`` (NSS, student IDs, the digit scanner they
share), ``curp``, ``names``, ``passwords``, ``dates``, ``masking`` (for logs); this module
is their public API.
"""
from __future__ import annotations

from flows.entities.curp import (
    CURP_ALPHABET,
    CURP_STATES,
    curp_check_digit,
    curp_problem,
    find_curp_candidates,
    spaced_curp_spans,
)
from flows.entities.dates import (
    is_approximate_date,
    mentions_date,
    mentions_saving,
    parse_answer_date,
    parse_date,
    resaved_day,
    saved_clause,
    waited_duration,
)
from flows.entities.ids import (
    find_nss_candidates,
    find_student_id_candidates,
    letter_o_as_zero,
    normalise_student_id,
    nss_check_digit,
    nss_problem,
    student_id_problem,
)
from flows.entities.masking import EMAIL, mask_personal
from flows.entities.names import find_name, looks_like_first_name, looks_like_name, title_name
from flows.entities.passwords import (
    REDACTED_SECRET,
    find_secrets,
    redact_secrets,
    without_secret_phrases,
)

__all__ = [
    "CURP_ALPHABET",
    "CURP_STATES",
    "EMAIL",
    "REDACTED_SECRET",
    "curp_check_digit",
    "curp_problem",
    "find_curp_candidates",
    "find_name",
    "find_nss_candidates",
    "find_secrets",
    "find_student_id_candidates",
    "letter_o_as_zero",
    "looks_like_first_name",
    "looks_like_name",
    "title_name",
    "spaced_curp_spans",
    "mask_personal",
    "mentions_date",
    "normalise_student_id",
    "nss_check_digit",
    "nss_problem",
    "is_approximate_date",
    "parse_answer_date",
    "mentions_saving",
    "resaved_day",
    "saved_clause",
    "waited_duration",
    "parse_date",
    "redact_secrets",
    "student_id_problem",
    "without_secret_phrases",
]
