"""The web chat end to end over real HTTP: page API → inbound → core → outbox → page."""
from __future__ import annotations

import httpx
import pytest

from bot.models import Contact, Conversation, InboundEvent, Message, Ticket
from bot.outbox import queue_message
from tests.conftest import ESCALATION_TURNS, rows
from tests.service_support import running_app, session_id, settings_for, wait_until


@pytest.fixture
def chat(tmp_path):
    with running_app(settings_for(tmp_path)) as (server, services):
        yield Chat(server.url, services)


class Chat:
    def __init__(self, url: str, services) -> None:
        self.url = url
        self.services = services
        self.client = httpx.Client(base_url=url, timeout=30)

    def say(self, session: str, text: str, **extra) -> httpx.Response:
        return self.client.post("/chat/api/messages", json={"session": session, "text": text, **extra})

    def poll(self, session: str, after: int = 0) -> dict:
        response = self.client.get("/chat/api/messages", params={"after": after},
                                   headers={"X-Chat-Session": session})
        assert response.status_code == 200, response.text
        return response.json()


def test_hola_gets_the_menu_in_the_same_response_with_options_as_buttons(chat):
    sid = session_id()
    response = chat.say(sid, "hola")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "done" and isinstance(body["id"], int)
    (menu,) = body["messages"]
    assert menu["from"] == "bot" and menu["id"] > body["id"]
    assert menu["text"].startswith("¡Hola!")
    labels = [o["label"] for o in menu["options"]]
    assert [o["key"] for o in menu["options"]] == [str(i) for i in range(1, len(labels) + 1)]
    assert "Requisitos" in labels and "Hablar con una persona" in labels
    assert "1. " not in menu["text"], "the numbered list is shown as buttons, not repeated in the text"

    # tapping a button sends its key
    key = next(o["key"] for o in menu["options"] if o["label"] == "Requisitos")
    answers = chat.say(sid, key).json()["messages"]
    assert answers[0]["text"] == chat.services.kb.topics["requisitos"].answers[0].strip()

    history = chat.poll(sid)["messages"]
    assert [m["from"] for m in history][:3] == ["student", "bot", "student"]
    assert history[2]["text"] == key
    # webchat replies are "delivered" by being stored: the outbox marks them sent
    wait_until(lambda: all(m.status == "sent" for m in rows(chat.services.engine, Message, direction="out")))


def test_a_ticket_flow_through_the_web_chat(chat):
    sid = session_id()
    for text in ESCALATION_TURNS:
        assert chat.say(sid, text).status_code == 200
        if rows(chat.services.engine, Ticket):
            break
    (ticket,) = rows(chat.services.engine, Ticket)
    assert ticket.reason and ticket.data.get("student_id")
    (conversation,) = rows(chat.services.engine, Conversation)
    assert conversation.channel == "webchat" and ticket.conversation_id == conversation.id


def test_polling_returns_a_later_staff_message(chat):
    sid = session_id()
    first = chat.say(sid, "hola").json()
    last = max(m["id"] for m in first["messages"])
    assert chat.poll(sid, after=last)["messages"] == []

    (conversation,) = rows(chat.services.engine, Conversation)
    with chat.services.session() as session:
        queue_message(session=session, conversation_id=conversation.id, text="Hola, soy Marta de la mesa de ayuda.")
    chat.services.notify_outbox()

    later = chat.poll(sid, after=last)["messages"]
    assert [(m["from"], m["text"]) for m in later] == [("staff", "Hola, soy Marta de la mesa de ayuda.")]
    # the student's next POST, given what the page has seen, does not repeat it
    reply = chat.say(sid, "gracias", after=later[-1]["id"]).json()
    assert all(m["id"] > later[-1]["id"] for m in reply["messages"])


def test_sessions_are_isolated_and_never_stored(chat, tmp_path):
    alice, bob = session_id(), session_id()
    chat.say(alice, "hola")
    chat.say(alice, "mi matrícula es 00000123456")
    assert chat.poll(bob)["messages"] == []
    chat.say(bob, "hola")
    bobs = chat.poll(bob)["messages"]
    assert all("00000123456" not in m["text"] for m in bobs)
    assert len({c.address for c in rows(chat.services.engine, Conversation)}) == 2
    # the session id is a bearer secret: only a hash of it reaches the database
    with chat.services.session() as session:
        stored = [c.address for c in session.exec(__import__("sqlmodel").select(Contact))]
    assert alice not in stored and bob not in stored
    data = b"".join(p.read_bytes() for p in tmp_path.glob("service.db*"))
    assert alice.encode() not in data and bob.encode() not in data


def test_a_resent_post_with_the_same_client_id_is_processed_once(chat):
    sid = session_id()
    first = chat.say(sid, "hola", client_id="abcdefgh1234")
    again = chat.say(sid, "hola", client_id="abcdefgh1234")
    assert first.status_code == again.status_code == 200
    assert len(rows(chat.services.engine, Message, direction="in")) == 1
    assert len(rows(chat.services.engine, InboundEvent)) == 1
    assert again.json()["id"] == first.json()["id"]


@pytest.mark.parametrize(
    "body, status",
    [
        ({"session": "short", "text": "hola"}, 422),
        ({"session": "a" * 32, "text": ""}, 422),
        ({"session": "a" * 32, "text": "x" * 4001}, 422),
        ({"session": "a" * 32, "text": "x" * 60_000}, 413),  # past what 4,000 escaped characters need
        ({"session": "a" * 32}, 422),
        ({"session": "../../etc/passwd-0123456789", "text": "hola"}, 422),
    ],
)
def test_invalid_requests_are_refused(chat, body, status):
    response = chat.client.post("/chat/api/messages", json=body)
    assert response.status_code == status
    assert "x" * 100 not in response.text, "the refused text is not echoed back"
    assert rows(chat.services.engine, InboundEvent) == []


def test_not_json_and_bad_polls_are_refused(chat):
    assert chat.client.post("/chat/api/messages", content=b"\xff\x00garbage",
                            headers={"content-type": "application/json"}).status_code == 422
    assert chat.client.get("/chat/api/messages").status_code == 422
    assert chat.client.get("/chat/api/messages", headers={"X-Chat-Session": "a" * 32},
                           params={"after": -1}).status_code == 422
    # the session only travels in the header: in the URL (kept by logs, proxies, history) it is refused
    refused = chat.client.get("/chat/api/messages", params={"session": "a" * 32})
    assert refused.status_code == 400 and "X-Chat-Session" in refused.json()["detail"]
    both = chat.client.get("/chat/api/messages", params={"session": "a" * 32}, headers={"X-Chat-Session": "a" * 32})
    assert both.status_code == 400
    assert chat.client.get("/chat/api/messages", headers={"X-Chat-Session": "a" * 32}).json()["messages"] == []


def test_exactly_4000_characters_are_accepted(chat):
    response = chat.say(session_id(), "hola " + "a" * 3995)
    assert response.status_code == 200 and response.json()["messages"]
