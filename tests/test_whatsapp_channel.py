"""The WhatsApp channel on its own: media in, messages out, against the fake Twilio over real HTTP.

The webhooks, which need the app, are covered end to end in test_whatsapp.py.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.channels.base import NeedsTemplate, Outgoing, PermanentFailure, RetryLater
from bot.channels.twilio_http import RewritingHttpClient, retry_after_seconds
from bot.channels.whatsapp import MAX_BODY, WhatsAppChannel, bare_number, fit_body, template_value
from bot.media import MAX_BYTES, MediaStore
from tests.fakes.server import free_port
from tests.fakes.twilio import AUTH_TOKEN, DESK_NUMBERS, PNG_1PX, FakeTwilio, inbound_form
from tests.whatsapp_support import TEMPLATE_SID, LogWatch, fake_twilio, log_watch, whatsapp_settings  # noqa: F401

T = TypeVar("T")
STUDENT = "+5216440000001"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def make_channel(fake: FakeTwilio, tmp_path: Path, **overrides: Any) -> WhatsAppChannel:
    timeouts = {k: overrides.pop(k) for k in ("send_timeout", "media_timeout") if k in overrides}
    return WhatsAppChannel(whatsapp_settings(fake.url, tmp_path, **overrides), MediaStore(tmp_path / "media"),
                           **timeouts)


async def prepare(channel: WhatsAppChannel, payload: dict[str, Any]) -> Any:
    try:
        return await channel.prepare(payload)
    finally:
        await channel.stop()


async def send(channel: WhatsAppChannel, message: Outgoing) -> str | None:
    try:
        return await channel.send(message)
    finally:
        await channel.stop()


def outgoing(text: str = "Hola 👋", **kw: Any) -> Outgoing:
    values: dict[str, Any] = {"message_id": 1, "conversation_id": 1, "channel": "whatsapp",
                              "address": f"whatsapp:{STUDENT}", "text": text,
                              "desk_address": f"whatsapp:{DESK_NUMBERS[1]}"}
    values.update(kw)
    return Outgoing(**values)


# -- media ---------------------------------------------------------------------------


def test_media_is_downloaded_with_basic_auth_through_the_redirect(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    url = fake_twilio.add_media("ME1", PNG_1PX, "image/png")
    payload = inbound_form("", media=[(url, "image/png")])
    prepared = run(prepare(make_channel(fake_twilio, tmp_path), payload))

    assert prepared.text == ""  # a media-only message has an empty Body
    assert prepared.display_name == "Ana"
    [attachment] = prepared.attachments
    assert attachment.content_type == "image/png"
    assert (tmp_path / "media" / attachment.ref).read_bytes() == PNG_1PX
    assert fake_twilio.media_requests == [("/media/ME1", True), ("/media-content/ME1", True)]


def test_credentials_go_only_to_twilio(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    """A MediaUrl that is not on Twilio's hosts is never fetched: no credentials, no request to it at all."""
    channel = make_channel(fake_twilio, tmp_path, twilio_api_base_url=fake_twilio.url.replace("127.0.0.1", "localhost"))
    fake_twilio.add_media("ME2", PNG_1PX)
    prepared = run(prepare(channel, inbound_form("mira", media=[(f"{fake_twilio.url}/media/ME2", "image/png")])))
    assert prepared.attachments == ()
    assert "[archivo no disponible]" in prepared.text
    assert fake_twilio.media_requests == []


def test_quick_reply_payload_wins_over_body(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    payload = inbound_form("Sí, ya aparezco", extra={"ButtonPayload": "covered_yes", "ButtonText": "Sí, ya aparezco"})
    assert run(prepare(make_channel(fake_twilio, tmp_path), payload)).text == "covered_yes"


def test_unsupported_and_oversized_media_are_refused_with_a_note(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    vcard = fake_twilio.add_media("vcard", b"BEGIN:VCARD\nVERSION:3.0\nEND:VCARD\n", "text/vcard")
    big_png = fake_twilio.add_media("big", PNG_1PX + b"\0" * (6 * 1024 * 1024), "image/png")
    good = fake_twilio.add_media("good", PNG_1PX, "image/png")
    payload = inbound_form("aquí está el error", media=[(vcard, "text/vcard"), (big_png, "image/png"),
                                                        (good, "image/png"), ("https://x/v.mp4", "video/mp4")])
    prepared = run(prepare(make_channel(fake_twilio, tmp_path), payload))

    assert len(prepared.attachments) == 1 and prepared.attachments[0].content_type == "image/png"
    lines = prepared.text.splitlines()
    assert lines[0] == "aquí está el error"
    assert sum("[archivo no aceptado" in line for line in lines) == 3
    assert any("demasiado grande" in line for line in lines)
    assert [p.name for p in (tmp_path / "media").iterdir()] == [prepared.attachments[0].ref]


def test_a_file_over_the_limit_is_not_downloaded_whole(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    huge = fake_twilio.add_media("huge", b"%PDF-1.4\n" + b"0" * (MAX_BYTES + 10), "application/pdf")
    prepared = run(prepare(make_channel(fake_twilio, tmp_path), inbound_form("", media=[(huge, "application/pdf")])))
    assert prepared.attachments == ()
    assert prepared.text.startswith("[archivo no aceptado: demasiado grande")
    assert not (tmp_path / "media").exists()


def test_absurd_num_media_is_capped(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    url = fake_twilio.add_media("one", PNG_1PX)
    payload = inbound_form("", media=[(url, "image/png")]) | {"NumMedia": "100000"}
    payload |= {f"MediaUrl{i}": url for i in range(1, 40)}
    prepared = run(prepare(make_channel(fake_twilio, tmp_path), payload))
    assert len(prepared.attachments) == 10
    assert len(fake_twilio.media_requests) == 20  # redirect + content, ten times
    assert run(prepare(make_channel(fake_twilio, tmp_path), {"Body": "x", "NumMedia": "many"})).text == "x"


def test_media_server_errors_and_unreachable_hosts_mean_retry_later(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    url = fake_twilio.add_media("flaky", PNG_1PX)
    payload = inbound_form("", media=[(url, "image/png")])
    fake_twilio.fail_media_next(1, 503)
    with pytest.raises(RetryLater):
        run(prepare(make_channel(fake_twilio, tmp_path), payload))
    assert len(run(prepare(make_channel(fake_twilio, tmp_path), payload)).attachments) == 1

    dead = f"http://127.0.0.1:{free_port()}/media/x"
    with pytest.raises(RetryLater):
        run(prepare(make_channel(fake_twilio, tmp_path), inbound_form("", media=[(dead, "image/png")])))


# -- sending -------------------------------------------------------------------------


def test_free_form_reply_goes_from_the_desk_number_the_student_wrote_to(
        fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    # The characters a form body must escape (the client encodes it itself) arrive as written.
    text = "Hola, ¿en qué te ayudo? 👋\nCURP & NSS = 100% + fácil; ver https://x.mx/?a=1&b=2#c"
    sid = run(send(make_channel(fake_twilio, tmp_path), outgoing(text)))
    [sent] = fake_twilio.messages()
    assert sid == sent.sid and sid.startswith("SM")
    assert sent.to == f"whatsapp:{STUDENT}"
    assert sent.from_ == f"whatsapp:{DESK_NUMBERS[1]}"
    assert sent.body == text and sent.content_sid is None
    assert sent.status_callback == "https://bot.example.mx/webhooks/whatsapp/status"


def test_sender_falls_back_to_the_first_desk_number(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    run(send(make_channel(fake_twilio, tmp_path), outgoing(desk_address=None, address=STUDENT)))
    [sent] = fake_twilio.messages()
    assert (sent.from_, sent.to) == (f"whatsapp:{DESK_NUMBERS[0]}", f"whatsapp:{STUDENT}")


def test_template_message_carries_content_sid_and_variables_and_no_body(
        fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    text = "¿Ya apareces vigente en el IMSS?\n1. Sí\n2. No"
    run(send(make_channel(fake_twilio, tmp_path), outgoing(text, template=True)))
    [sent] = fake_twilio.messages()
    assert sent.body is None
    assert sent.content_sid == TEMPLATE_SID
    assert json.loads(sent.content_variables or "") == {"1": "¿Ya apareces vigente en el IMSS? · 1. Sí · 2. No"}


def test_template_without_a_configured_sid_fails_clearly(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    with pytest.raises(PermanentFailure, match="TWILIO_TEMPLATE_CONTENT_SID"):
        run(send(make_channel(fake_twilio, tmp_path, twilio_template_content_sid=None), outgoing(template=True)))
    assert fake_twilio.attempts == 0


def test_63016_means_needs_template(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    fake_twilio.close_window(STUDENT)
    with pytest.raises(NeedsTemplate):
        run(send(make_channel(fake_twilio, tmp_path), outgoing()))
    run(send(make_channel(fake_twilio, tmp_path), outgoing(template=True)))
    assert [m.content_sid for m in fake_twilio.messages()] == [TEMPLATE_SID]


def test_429_and_5xx_are_retry_later_honouring_retry_after(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    fake_twilio.fail_next(1, status=429, retry_after="7")
    with pytest.raises(RetryLater) as caught:
        run(send(make_channel(fake_twilio, tmp_path), outgoing()))
    assert caught.value.retry_after == 7
    fake_twilio.fail_next(1, status=503)
    with pytest.raises(RetryLater) as caught:
        run(send(make_channel(fake_twilio, tmp_path), outgoing()))
    assert caught.value.retry_after is None
    assert run(send(make_channel(fake_twilio, tmp_path), outgoing()))
    assert len(fake_twilio.messages()) == 1


def test_timeouts_and_refused_connections_are_retry_later(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    fake_twilio.slow_next(1, 2.0)
    with pytest.raises(RetryLater, match="timed out"):
        run(send(make_channel(fake_twilio, tmp_path, send_timeout=0.3), outgoing()))
    with pytest.raises(RetryLater, match="unreachable"):
        run(send(make_channel(fake_twilio, tmp_path, twilio_api_base_url=f"http://127.0.0.1:{free_port()}"),
                 outgoing()))


def test_other_4xx_are_permanent_with_twilio_code(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    channel = make_channel(fake_twilio, tmp_path, twilio_whatsapp_numbers="+5216449999999")
    with pytest.raises(PermanentFailure) as caught:
        run(send(channel, outgoing(desk_address=None)))
    assert caught.value.code == "63007"
    channel = make_channel(fake_twilio, tmp_path, twilio_auth_token="wrong-token")
    with pytest.raises(PermanentFailure) as caught:
        run(send(channel, outgoing()))
    assert caught.value.code == "20003"


def test_long_text_is_cut_politely_within_whatsapp_limit(fake_twilio: FakeTwilio, tmp_path: Path) -> None:
    text = "\n".join(f"Paso {i}: " + "revisa tus datos en el portal del IMSS " * 3 for i in range(40))
    run(send(make_channel(fake_twilio, tmp_path), outgoing(text)))
    [sent] = fake_twilio.messages()
    assert sent.body and len(sent.body) <= MAX_BODY and sent.body.endswith("…")
    assert text.startswith(sent.body[:-1].rstrip())


# -- small pieces --------------------------------------------------------------------


def test_fit_body_and_template_value() -> None:
    assert fit_body("corto") == "corto"
    cut = fit_body("palabra " * 500)
    assert len(cut) <= MAX_BODY and cut.endswith("palabra…")
    assert len(fit_body("x" * 5000)) == MAX_BODY
    assert template_value("a\n\n b\tc     d") == "a · b c d"


def test_numbers_are_compared_without_prefix_or_spaces() -> None:
    assert bare_number("whatsapp:+52 1 644-420-7351") == "+5216444207351"
    assert bare_number(None) == ""


def test_desk_numbers_are_one_number_however_written_and_unreadable_ones_refused_at_start_up() -> None:
    from pydantic import ValidationError

    from bot.config import Settings
    from bot.phones import e164, number_key

    forms = ["whatsapp:+5216444207351", "+526444207351", "6444207351", "(644) 420-7351", "526444207351",
             "+52 1 644 420 7351"]
    assert {number_key(f) for f in forms} == {"+526444207351"}
    assert e164("6444207351") == "+526444207351" and e164("+14155238886") == "+14155238886"
    for bad in ("hola", "644420735", "+52644420735l", "whatsapp:", "14155238886"):
        assert number_key(bad) is None, bad
    with pytest.raises(ValidationError, match="TWILIO_WHATSAPP_NUMBERS must be phone numbers.*'64442O7351'"):
        Settings(_env_file=None, twilio_whatsapp_numbers="+5216441617836, 64442O7351")  # type: ignore[call-arg]


def test_rewriting_http_client() -> None:
    default = RewritingHttpClient()
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
    assert default.rewrite(url) == url
    local = RewritingHttpClient("http://127.0.0.1:9999/")
    assert local.rewrite(url) == "http://127.0.0.1:9999/2010-04-01/Accounts/AC1/Messages.json"
    assert local.rewrite("https://api.dublin.ie1.twilio.com/x?a=1") == "http://127.0.0.1:9999/x?a=1"
    assert local.rewrite("https://example.com/x") == "https://example.com/x"


def test_retry_after_parsing() -> None:
    from datetime import datetime, timezone

    assert retry_after_seconds("12") == 12
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    now = datetime(2026, 2, 10, 17, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("Tue, 10 Feb 2026 17:00:30 GMT", now=now) == 30
    assert retry_after_seconds("999999") == 3600


def test_the_auth_token_is_never_logged(fake_twilio: FakeTwilio, tmp_path: Path, log_watch: LogWatch) -> None:
    """Failures log, twilio's client logs its requests: none of it carries the token."""
    fake_twilio.fail_next(1, status=500)
    channel = make_channel(fake_twilio, tmp_path)
    with pytest.raises(RetryLater):
        run(send(channel, outgoing()))
    run(send(make_channel(fake_twilio, tmp_path), outgoing()))
    url = fake_twilio.add_media("seen", PNG_1PX)
    run(prepare(make_channel(fake_twilio, tmp_path), inbound_form("", media=[(url, "image/png")])))
    assert log_watch.lines, "expected some logging to inspect"
    assert not log_watch.containing(AUTH_TOKEN)
