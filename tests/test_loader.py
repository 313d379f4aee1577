"""knowledge check: every problem a staff member can make, named with file, line and topic."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.loader import ALL_TOPICS, KnowledgeError, check, load

PACKAGED = Path(__file__).resolve().parent.parent / "knowledge"


@pytest.fixture()
def kb_dir(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(PACKAGED, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def problems_of(root: Path) -> list[str]:
    return [str(p) for p in check(root)]


def test_the_packaged_knowledge_base_is_valid_and_complete() -> None:
    assert check() == []
    kb = load()
    assert set(kb.topics) == set(ALL_TOPICS)
    assert all(t.sources for t in kb.topics.values())


def test_broken_yaml_names_the_file_and_line(kb_dir: Path) -> None:
    path = kb_dir / "topics" / "nss.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(4, "label: [unclosed")
    path.write_text("\n".join(lines), encoding="utf-8")
    (problem,) = [p for p in problems_of(kb_dir) if "broken YAML" in p]
    assert "nss.yaml:" in problem and ": nss: " in problem
    line = int(problem.split("nss.yaml:")[1].split(":")[0])
    assert 5 <= line <= 7


def test_unknown_topic_and_missing_topic(kb_dir: Path) -> None:
    path = kb_dir / "topics" / "contacto.yaml"
    text = path.read_text(encoding="utf-8").replace("id: contacto", "id: contactos")
    (kb_dir / "topics" / "contactos.yaml").write_text(text, encoding="utf-8")
    path.unlink()
    found = problems_of(kb_dir)
    assert any("contactos.yaml:1: contactos: unknown topic 'contactos'" in p for p in found), found
    assert any("contacto.yaml: contacto: topic of topics.md has no answer file" in p for p in found), found
    with pytest.raises(KnowledgeError) as raised:
        load(kb_dir)
    assert len(raised.value.problems) == len(found)


def test_a_link_that_is_not_https(kb_dir: Path) -> None:
    path = kb_dir / "topics" / "registro_cia.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("{cia_url}", "http://www.itson.mx/cia", 1), encoding="utf-8")
    found = problems_of(kb_dir)
    assert any("registro_cia.yaml:" in p and "registro_cia: link is not https: http://www.itson.mx/cia" in p
               for p in found), found


def test_an_unknown_placeholder_and_a_missing_answer(kb_dir: Path) -> None:
    path = kb_dir / "topics" / "despedida.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line for line in lines if not line.startswith("answer")), encoding="utf-8")
    urg = kb_dir / "topics" / "urgencia.yaml"
    urg.write_text(urg.read_text(encoding="utf-8").replace("911", "{numero_emergencia}", 1), encoding="utf-8")
    found = problems_of(kb_dir)
    assert any("despedida: no answer" in p for p in found), found
    assert any("urgencia: unknown placeholder {numero_emergencia}" in p for p in found), found


def test_a_non_working_day_that_is_not_a_date(kb_dir: Path) -> None:
    path = kb_dir / "desk.yaml"
    text = path.read_text(encoding="utf-8").replace("non_working_days: []", "non_working_days:\n  - date: 30 de marzo")
    path.write_text(text, encoding="utf-8")
    found = problems_of(kb_dir)
    assert any("desk.yaml:" in p and "not a date" in p for p in found), found


@pytest.mark.parametrize("written", ["2026-02-30", "2026-13-01", '"2026-02-31"'])
def test_an_impossible_closure_date_is_named_not_a_crash(kb_dir: Path, written: str) -> None:
    path = kb_dir / "desk.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "non_working_days: []", f"non_working_days:\n  - date: 2026-03-16\n  - date: {written}\n    reason: cierre\n")
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index(f"  - date: {written}") + 1
    found = problems_of(kb_dir)
    assert [p for p in found if "not a date" in p] == [p for p in found if f"desk.yaml:{line}:" in p], found
    assert len([p for p in found if "not a date" in p]) == 1, found


def test_extra_closures_move_the_end_of_the_waiting_period(kb_dir: Path) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from flows.machine import advance
    from flows.messages import Incoming

    path = kb_dir / "desk.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "non_working_days: []", "non_working_days:\n  - date: 2026-02-12\n    reason: cierre\n")
    path.write_text(text, encoding="utf-8")
    kb = load(kb_dir)
    when = datetime(2026, 2, 10, 10, tzinfo=ZoneInfo("America/Hermosillo"))
    out = advance(None, Incoming("la guarde el lunes 9 de febrero, cuanto tarda?", when), kb)
    assert "martes 17 de febrero" in "\n".join(r.text for r in out.replies)


def test_a_source_link_that_is_not_https_is_named(kb_dir: Path) -> None:
    path = kb_dir / "topics" / "nss.yaml"
    text = path.read_text(encoding="utf-8").replace("sources:\n", "sources:\n  - http://www.imss.gob.mx/tramites\n", 1)
    path.write_text(text, encoding="utf-8")
    (problem,) = [p for p in problems_of(kb_dir) if "not https" in p]
    assert "nss.yaml:" in problem and ": nss: " in problem and "http://www.imss.gob.mx/tramites" in problem


def test_the_conversation_tests_are_checked_too(kb_dir: Path) -> None:
    (kb_dir / "tests" / "broken.yaml").write_text("stories:\n  - name: x\n    turns: [\n", encoding="utf-8")
    (kb_dir / "tests" / "bad.yaml").write_text(
        "stories:\n"
        "  - name: wrong names\n"
        "    turns:\n"
        "      - text: hola\n"
        "        topic: saludos\n"
        "      - text: no\n"
        "        ticket: vigencia\n"
        "        replys_contain: [hola]\n"
        "  - turns: []\n",
        encoding="utf-8",
    )
    found = problems_of(kb_dir)
    assert any("broken.yaml:" in p and "broken YAML" in p for p in found)
    bad = [p for p in found if "bad.yaml:" in p]
    assert any("bad.yaml:5:" in p and "unknown topic 'saludos'" in p for p in bad)
    assert any("bad.yaml:6:" in p and "quote it" in p for p in bad)
    assert any("bad.yaml:7:" in p and "ticket must be" in p for p in bad)
    assert any("bad.yaml:8:" in p and "unknown key 'replys_contain'" in p for p in bad)
    assert any("needs a name" in p for p in bad)
    # A broken test never stops the bot from loading.
    assert load(kb_dir).topics


def test_a_known_answer_without_its_source_is_named(kb_dir: Path) -> None:
    path = kb_dir / "topics" / "duda_general.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("    source: ")
    path.write_text(text[:start] + text[text.index("\n", start) + 1:], encoding="utf-8")
    found = problems_of(kb_dir)
    assert any("duda_general.yaml:" in p and "each known answer needs when (phrases), answer and source" in p
               for p in found), found


def test_a_known_answer_staff_add_is_given(kb_dir: Path) -> None:
    path = kb_dir / "topics" / "duda_general.yaml"
    text = path.read_text(encoding="utf-8").replace("known:\n", (
        "known:\n  - when: [cubre lentes]\n    answer: Los lentes no los cubre, pregunta en tu UMF.\n"
        "    source: prueba\n"), 1)
    path.write_text(text, encoding="utf-8")
    assert load(kb_dir).matcher.known_answer("duda_general", "el seguro cubre lentes?") == (
        "Los lentes no los cubre, pregunta en tu UMF.")
