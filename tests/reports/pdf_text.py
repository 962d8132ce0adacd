"""The text of a PDF made by fpdf2 with TrueType fonts, one string per ``Tj`` (a cell).

Enough PDF for our own files: objects, Flate streams, each font's ToUnicode ``bfchar`` map, and
``/Fx size Tf`` and ``(...) Tj`` of the content streams (2-byte codes of Identity-H fonts).
"""

from __future__ import annotations

import re
import zlib

OBJECT = re.compile(rb"(\d+) 0 obj\s*(<<.*?>>)\s*(?:stream\r?\n(.*?)\r?\nendstream|endobj)", re.S)
ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _stream(raw: bytes, head: bytes) -> bytes:
    return zlib.decompress(raw) if b"/FlateDecode" in head else raw


def _literal(text: bytes) -> bytes:
    """A PDF literal string's bytes (backslash escapes resolved)."""
    out, i = bytearray(), 0
    while i < len(text):
        if text[i : i + 1] == b"\\":
            nxt = text[i + 1 : i + 2]
            octal = re.match(rb"[0-7]{1,3}", text[i + 1 : i + 4])
            if octal:
                out.append(int(octal.group(), 8) & 0xFF)
                i += 1 + len(octal.group())
                continue
            out += ESCAPES.get(nxt, nxt)
            i += 2
            continue
        out.append(text[i])
        i += 1
    return bytes(out)


def pdf_strings(data: bytes) -> list[str]:
    """Every shown string of the PDF, in content order."""
    objects = {int(m.group(1)): (m.group(2), m.group(3)) for m in OBJECT.finditer(data)}
    maps: dict[bytes, dict[int, str]] = {}
    contents: list[bytes] = []
    for head, _body in objects.values():
        for name, ref in re.findall(rb"/(F\d+) (\d+) 0 R", head):
            font_head = objects[int(ref)][0]
            unicode_ref = re.search(rb"/ToUnicode (\d+) 0 R", font_head)
            assert unicode_ref is not None
            cmap_head, cmap = objects[int(unicode_ref.group(1))]
            pairs = re.findall(rb"<([0-9A-F]{4})> <([0-9A-F]+)>", _stream(cmap, cmap_head))
            maps[name] = {
                int(c, 16): bytes.fromhex(u.decode()).decode("utf-16-be") for c, u in pairs
            }
        if re.search(rb"/Contents (\d+) 0 R", head):
            ref = int(re.search(rb"/Contents (\d+) 0 R", head).group(1))  # type: ignore[union-attr]
            contents.append(_stream(objects[ref][1], objects[ref][0]))
    found: list[str] = []
    for content in contents:
        font = b""
        for match in re.finditer(rb"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", content, re.S):
            if match.group(1):
                font = match.group(1)
                continue
            codes = _literal(match.group(2))
            glyphs = [int.from_bytes(codes[i : i + 2], "big") for i in range(0, len(codes), 2)]
            found.append("".join(maps[font].get(g, "?") for g in glyphs))
    return found
