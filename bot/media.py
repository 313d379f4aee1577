"""Files students send (screenshots of the error), stored outside the web root.

A file is kept under the media folder by the SHA-256 of its content, so the
same screenshot sent twice is stored once and a stored name reveals nothing
about the student. Its type is read from its first bytes, never from the
name or the sender's claim: only the types WhatsApp and Telegram deliver and
staff need (images, PDF, Office documents, voice notes) are accepted.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from flows.messages import Attachment

#: WhatsApp's limits: 16 MB a message, images 5 MB; Telegram's getFile: 20 MB.
MAX_BYTES = 16 * 1024 * 1024
MAX_IMAGE_BYTES = 5 * 1024 * 1024

_SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "png"),
    (b"\xff\xd8\xff", 0, "image/jpeg", "jpg"),
    (b"RIFF", 0, "image/webp", "webp"),  # confirmed below by the WEBP marker
    (b"%PDF-", 0, "application/pdf", "pdf"),
    (b"OggS", 0, "audio/ogg", "ogg"),
    (b"#!AMR", 0, "audio/amr", "amr"),
    (b"ID3", 0, "audio/mpeg", "mp3"),
    (b"\xff\xfb", 0, "audio/mpeg", "mp3"),
    (b"\xff\xf1", 0, "audio/aac", "aac"),
    (b"\xff\xf9", 0, "audio/aac", "aac"),
    (b"PK\x03\x04", 0, "application/vnd.openxmlformats-officedocument", "docx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "application/msword", "doc"),
)


class MediaRejected(ValueError):
    """The file is too big or of a type we do not accept; the message says which."""


@dataclass(frozen=True)
class StoredFile:
    ref: str
    content_type: str
    size: int
    path: Path


def sniff(data: bytes) -> tuple[str, str] | None:
    """The content type and extension read from the file's first bytes."""
    for magic, offset, content_type, ext in _SIGNATURES:
        if data[offset:offset + len(magic)] == magic:
            if content_type == "image/webp" and data[8:12] != b"WEBP":
                continue
            return content_type, ext
    return None


class MediaStore:
    """Stores and reads attachment files in one folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def save(self, data: bytes, *, name: str = "") -> StoredFile:
        if len(data) > MAX_BYTES:
            raise MediaRejected(f"file of {len(data)} bytes exceeds {MAX_BYTES}")
        kind = sniff(data)
        if kind is None:
            raise MediaRejected("file type not accepted (images, PDF, Office documents, audio)")
        content_type, ext = kind
        if content_type.startswith("image/") and len(data) > MAX_IMAGE_BYTES:
            raise MediaRejected(f"image of {len(data)} bytes exceeds {MAX_IMAGE_BYTES}")
        digest = hashlib.sha256(data).hexdigest()
        ref = f"{digest[:32]}.{ext}"
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ref
        if not path.exists():
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(path)
        return StoredFile(ref=ref, content_type=content_type, size=len(data), path=path)

    def attachment(self, data: bytes, *, name: str = "") -> Attachment:
        stored = self.save(data, name=name)
        return Attachment(ref=stored.ref, content_type=stored.content_type, name=name[:120])

    def path(self, ref: str) -> Path | None:
        """The file of a stored ref, or None (refs never reach outside the folder)."""
        if not ref or "/" in ref or "\\" in ref or ref.startswith("."):
            return None
        path = self.root / ref
        return path if path.is_file() else None
