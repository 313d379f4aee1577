"""Files students send (screenshots of the error), stored outside the web root.

A file is kept under the media folder by the SHA-256 of its content, so the
same screenshot sent twice is stored once and a stored name reveals nothing
about the student. Its type is read from its first bytes, never from the
name or the sender's claim: only the types WhatsApp and Telegram deliver and
staff need (images, PDF, Word documents, voice notes) are accepted.

Containers are looked into, not only their first bytes: a ``.docx`` must be
a Word OOXML package (``[Content_Types].xml`` naming a Word main document,
``word/document.xml``, no executables or macros inside), an OLE2 file must
hold a ``WordDocument`` stream (MSI installers and other OLE2 files are
refused), and MP3/AAC must carry a real audio frame header (after the ID3
tag, if any). Files are written mode 0600 in a folder of mode 0700.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flows.messages import Attachment

#: WhatsApp's limits: 16 MB a message, images 5 MB; Telegram's getFile: 20 MB.
MAX_BYTES = 16 * 1024 * 1024
MAX_IMAGE_BYTES = 5 * 1024 * 1024

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

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
    (b"PK\x03\x04", 0, DOCX, "docx"),  # confirmed below: a Word OOXML package
    (OLE2, 0, "application/msword", "doc"),  # confirmed below: a WordDocument stream
)
#: What a stored ref looks like: our hash and one of our extensions. Anything else is not ours.
_REF = re.compile(r"[0-9a-f]{32}\.(?:%s)" % "|".join(sorted({ext for *_, ext in _SIGNATURES})))
#: Names inside a .docx that make it something else: programs, scripts, macros, embedded packages.
_RISKY_MEMBER = re.compile(
    r"(?i)\.(?:exe|dll|com|scr|pif|bat|cmd|ps1|psm1|vbs|vbe|js|jse|wsf|wsh|hta|msi|msp|jar|sh|lnk|"
    r"cpl|reg|app|apk|bin|docm|dotm|xlsm|pptm)$|(?:^|/)vbaProject|(?:^|/)activeX/|(?:^|/)embeddings/")


class MediaRejected(ValueError):
    """The file is too big or of a type we do not accept; the message says which."""


@dataclass(frozen=True)
class StoredFile:
    ref: str
    content_type: str
    size: int
    path: Path


@dataclass(frozen=True)
class ServedFile:
    """How the console hands a stored file to staff: images and PDF inline, the rest as a download."""
    path: Path
    content_type: str
    inline: bool


def _is_word_package(data: bytes) -> bool:
    """A ZIP that is a Word document: its parts say so, and nothing inside is a program or macro."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "[Content_Types].xml" not in names or "word/document.xml" not in names:
                return False
            if len(names) > 1000 or any(_RISKY_MEMBER.search(n) or ".." in n.split("/") for n in names):
                return False
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > 256 * 1024:
                return False
            types = archive.read(info).decode("utf-8", "replace")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, KeyError, NotImplementedError,
            RuntimeError, EOFError):
        return False
    return "wordprocessingml.document.main+xml" in types and "macroEnabled" not in types


def _ole_names(data: bytes) -> list[str]:
    """The names in an OLE2 (compound file) directory, following its FAT chain; [] if malformed."""
    if len(data) < 512 or data[:8] != OLE2:
        return []
    shift = struct.unpack_from("<H", data, 30)[0]
    if shift not in (9, 12):
        return []
    size = 1 << shift

    def sector(n: int) -> bytes:
        start = size + n * size  # the header takes the first sector's room
        return data[start:start + size] if 0 <= n and start + size <= len(data) else b""

    fat_sectors = [n for n in struct.unpack_from("<109I", data, 76) if n < 0xFFFFFFFA]
    fat: list[int] = []
    for n in fat_sectors[:64]:
        raw = sector(n)
        fat.extend(struct.unpack(f"<{len(raw) // 4}I", raw))
    names: list[str] = []
    current, seen = struct.unpack_from("<I", data, 48)[0], set()
    while current < 0xFFFFFFFA and current not in seen and len(seen) < 256:
        seen.add(current)
        raw = sector(current)
        if not raw:
            break
        for off in range(0, len(raw), 128):
            entry = raw[off:off + 128]
            length = struct.unpack_from("<H", entry, 64)[0]
            if entry[66] in (1, 2, 5) and 2 <= length <= 64:
                names.append(entry[:length - 2].decode("utf-16-le", "replace"))
        current = fat[current] if current < len(fat) else 0xFFFFFFFE
    return names


def _is_word_97(data: bytes) -> bool:
    """An OLE2 file that is a Word document (a ``WordDocument`` stream); MSI and the rest are not."""
    names = _ole_names(data)
    return "WordDocument" in names and not any(n in ("Macros", "_VBA_PROJECT_CUR", "VBA") for n in names)


def _mpeg_frame(data: bytes, at: int) -> bool:
    """A valid MPEG audio frame header at ``at``: sync, a known version and layer, real rates."""
    head = data[at:at + 4]
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate not in (0, 15) and rate != 3


def _adts_frame(data: bytes, at: int) -> bool:
    head = data[at:at + 7]
    return (len(head) == 7 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0
            and (head[2] >> 2) & 0xF < 13 and ((head[3] & 3) << 11 | head[4] << 3 | head[5] >> 5) >= 7)


def _is_mp3(data: bytes) -> bool:
    at = 0
    if data[:3] == b"ID3":
        if len(data) < 10 or any(b & 0x80 for b in data[6:10]):
            return False
        at = 10 + (data[6] << 21 | data[7] << 14 | data[8] << 7 | data[9]) + (10 if data[5] & 0x10 else 0)
        while at < len(data) and data[at] == 0:  # padding some taggers leave
            at += 1
    return _mpeg_frame(data, at)


def sniff(data: bytes) -> tuple[str, str] | None:
    """The content type and extension read from the file's bytes (the whole file, for containers)."""
    for magic, offset, content_type, ext in _SIGNATURES:
        if data[offset:offset + len(magic)] == magic:
            if content_type == "image/webp" and data[8:12] != b"WEBP":
                continue
            if ext == "docx" and not _is_word_package(data):
                return None
            if ext == "doc" and not _is_word_97(data):
                return None
            if ext == "mp3" and not _is_mp3(data):
                return None
            if ext == "aac" and not _adts_frame(data, 0):
                return None
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
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.root / ref
        if not path.exists():
            # mkstemp creates the file mode 0600 (only the service's user reads it), with a unique name
            # so two workers storing the same file at once do not write into each other's.
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return StoredFile(ref=ref, content_type=content_type, size=len(data), path=path)

    def attachment(self, data: bytes, *, name: str = "") -> Attachment:
        stored = self.save(data, name=name)
        return Attachment(ref=stored.ref, content_type=stored.content_type, name=name[:120])

    def path(self, ref: str) -> Path | None:
        """The file of a stored ref, or None (only names we give files; refs never reach outside the folder)."""
        if not isinstance(ref, str) or not _REF.fullmatch(ref):
            return None
        path = self.root / ref
        try:
            return path if path.is_file() else None
        except OSError:
            return None

    def serving(self, ref: str) -> ServedFile | None:
        """A stored file with the type its bytes have now; audio and documents are served as downloads.

        The whole file is read again (at most :data:`MAX_BYTES`), so a file stored before a check
        was tightened is served as what it is, or as ``application/octet-stream``.
        """
        path = self.path(ref)
        if path is None:
            return None
        with path.open("rb") as fh:
            kind = sniff(fh.read(MAX_BYTES + 1))
        content_type = kind[0] if kind else "application/octet-stream"
        inline = content_type.startswith("image/") or content_type == "application/pdf"
        return ServedFile(path=path, content_type=content_type, inline=inline)
