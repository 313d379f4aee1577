"""The shape of the code: imports go bot → flows → knowledge, never back.

flows must stay pure (no I/O, no database, no web framework), channels never
import each other, and the diagram in flows/README.md matches the code.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Libraries that touch the world; the pure layers must not import them.
IMPURE = {"sqlalchemy", "sqlmodel", "fastapi", "starlette", "httpx", "twilio", "telegram", "uvicorn",
          "requests", "socket", "subprocess", "bot", "typer", "rich"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", modules("knowledge"), ids=lambda p: str(p.relative_to(ROOT)))
def test_knowledge_imports_neither_flows_nor_bot(path: Path) -> None:
    assert not imports_of(path) & ({"flows"} | IMPURE)


@pytest.mark.parametrize("path", modules("flows"), ids=lambda p: str(p.relative_to(ROOT)))
def test_flows_are_pure(path: Path) -> None:
    assert not imports_of(path) & IMPURE


CHANNELS = ("whatsapp", "telegram", "webchat")


def test_channels_do_not_import_each_other() -> None:
    channel_files = [p for p in (ROOT / "bot" / "channels").glob("*.py") if p.stem in CHANNELS]
    names = {p.stem for p in channel_files}
    for path in channel_files:
        source = path.read_text(encoding="utf-8")
        for other in names - {path.stem}:
            assert f"bot.channels.{other}" not in source, f"{path.name} imports the {other} channel"


def test_flows_readme_diagram_matches_the_code() -> None:
    from flows.procedure import mermaid

    readme = (ROOT / "flows" / "README.md").read_text(encoding="utf-8")
    assert "```mermaid\n" + mermaid() + "\n```" in readme, "regenerate the diagram: python -m flows.procedure"
