"""Our signature check accepts exactly what twilio's own ``RequestValidator`` accepts.

The webhook checks X-Twilio-Signature with :class:`bot.channels.twilio_signature.SignatureChecker`
(one HMAC for the usual case instead of two); the reference here is the
library Twilio publishes, on forms like the ones Twilio posts and on
random ones (repeated keys, repeated values, accents, emoji, empty values),
for URLs with and without a port and a query string.
"""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from bot.channels.twilio_signature import SignatureChecker

TOKEN = "12345678901234567890123456789012"
URLS = [
    "https://bot.itson.example/webhooks/whatsapp",
    "https://bot.itson.example:443/webhooks/whatsapp",
    "https://bot.itson.example:8443/webhooks/whatsapp/status",
    "http://bot.itson.example/webhooks/whatsapp?desk=itson&x=%C3%B1",
]


class _Multi(dict[str, list[str]]):
    def getall(self, name: str) -> list[str]:
        return self[name]


def twilio_form() -> dict[str, list[str]]:
    return {"SmsMessageSid": ["SM1"], "NumMedia": ["0"], "ProfileName": ["Ana López 🎓"],
            "MessageSid": ["SM1"], "Body": ["hola, ¿me ayudas con el seguro?"], "To": ["whatsapp:+5216441234567"],
            "From": ["whatsapp:+5216447654321"], "AccountSid": ["AC" + "0" * 32], "ApiVersion": ["2010-04-01"]}


forms = st.dictionaries(st.text(min_size=1, max_size=12), st.lists(st.text(max_size=20), min_size=1, max_size=3),
                        max_size=8)


def test_a_form_signed_as_twilio_signs_it_is_accepted_at_either_spelling_of_the_url() -> None:
    checker, reference = SignatureChecker(TOKEN), RequestValidator(TOKEN)
    form = twilio_form()
    for url in URLS:
        port = ":443" if url.startswith("https:") else ":80"
        for spelling in (url, url.replace("bot.itson.example/", f"bot.itson.example{port}/", 1)):
            signature = reference.compute_signature(spelling, _Multi(form))
            assert checker.valid(url, form, signature)
            assert reference.validate(url, _Multi(form), signature)


def test_a_changed_value_url_or_token_is_refused() -> None:
    checker, reference = SignatureChecker(TOKEN), RequestValidator(TOKEN)
    form = twilio_form()
    url = URLS[0]
    signature = reference.compute_signature(url, _Multi(form))
    assert not checker.valid(url, {**form, "Body": ["hola"]}, signature)
    assert not checker.valid(url + "?desk=other", form, signature)
    assert not SignatureChecker("another-token").valid(url, form, signature)
    assert not checker.valid(url, form, "")
    assert not checker.valid(url, form, signature, "HMAC_SHA256")  # signed with SHA-1, claimed SHA-256
    assert not checker.valid(url, form, signature, "HMAC_MD5")  # an algorithm nobody supports


@settings(max_examples=300, deadline=None)
@given(form=forms, url=st.sampled_from(URLS), algorithm=st.sampled_from([None, "HMAC_SHA1", "HMAC_SHA256"]),
       forged=st.booleans())
def test_it_agrees_with_twilios_request_validator(form: dict[str, list[str]], url: str, algorithm: str | None,
                                                   forged: bool) -> None:
    checker, reference = SignatureChecker(TOKEN), RequestValidator(TOKEN)
    signature = reference.compute_signature(url, _Multi(form), algorithm)
    if forged:
        signature = ("B" if signature[0] == "A" else "A") + signature[1:]
    assert checker.valid(url, form, signature, algorithm) == reference.validate(url, _Multi(form), signature,
                                                                                 algorithm)
    assert checker.signature(url, form, algorithm or "HMAC_SHA1") == reference.compute_signature(
        url, _Multi(form), algorithm)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="ab+%=&2Fé x", max_size=6), st.text(alphabet="ab+%=&2Fé x0", max_size=8)),
                max_size=6).map(lambda pairs: "&".join(k + ("=" + v if v else "") for k, v in pairs)))
def test_the_webhook_form_is_read_as_parse_qsl_reads_it(text: str) -> None:
    """bot.channels.whatsapp.parse_form is parse_qsl (keep_blank_values) with repeated keys kept, on any text."""
    from urllib.parse import parse_qsl

    from bot.channels.whatsapp import parse_form

    expected: dict[str, list[str]] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        expected.setdefault(key, []).append(value)
    assert parse_form(text) == expected
