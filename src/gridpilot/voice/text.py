"""Utterance text made comparable: normalised words, numbers as digits, the period cut out.

Pure functions, no I/O. ``normalise`` lower-cases, strips accents and punctuation (a decimal
point between digits stays), and turns a hyphen into a space so ``compressor-1`` and
"compressor 1" read alike. ``numbers_to_digits`` writes number words as digits ("compressor
one" -> "compressor 1", "fifty" -> "50", "venticinque" -> "25"): the intent files and the
asset names then only deal with digits. ``cut_timeframe`` finds the spoken period ("in the
last hour", "ieri") and returns its key (``last_hour``, ``yesterday``, ``last_3_hours``...)
with the utterance without it, so an intent line needs no slot for the period.
"""

from __future__ import annotations

import re
import unicodedata

LANGUAGES = ("en", "it")

_EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_EN_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_IT_UNITS = {
    "zero": 0, "uno": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6, "sette": 7,
    "otto": 8, "nove": 9, "dieci": 10, "undici": 11, "dodici": 12, "tredici": 13,
    "quattordici": 14, "quindici": 15, "sedici": 16, "diciassette": 17, "diciotto": 18,
    "diciannove": 19,
}  # fmt: skip
_IT_TENS = {
    "venti": 20, "trenta": 30, "quaranta": 40, "cinquanta": 50, "sessanta": 60,
    "settanta": 70, "ottanta": 80, "novanta": 90,
}  # fmt: skip


def normalise(text: str) -> str:
    """Lower case, no accents, no punctuation but a decimal point; single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    plain = re.sub(r"(?<=\d)[.,](?=\d)", "\x00", plain)  # 2.5 / 2,5 stay numbers
    plain = re.sub(r"[^a-z0-9\x00]+", " ", plain).replace("\x00", ".")
    return " ".join(plain.split())


def _english_number(words: list[str], i: int) -> tuple[int, int] | None:
    """(value, words used) of the English number starting at ``words[i]``."""
    total, current, used, last = 0, 0, 0, ""
    while i + used < len(words):
        word = words[i + used]
        nxt = words[i + used + 1] if i + used + 1 < len(words) else ""
        if word in _EN_UNITS and last in ("", "tens", "hundred", "and", "thousand"):
            if last == "tens" and _EN_UNITS[word] >= 10:
                break
            current, last = current + _EN_UNITS[word], "unit"
        elif word in _EN_TENS and last in ("", "hundred", "and", "thousand"):
            current, last = current + _EN_TENS[word], "tens"
        elif word == "hundred" and last == "unit" and current < 10:
            current, last = current * 100, "hundred"
        elif word == "thousand" and last in ("unit", "tens", "hundred"):
            total, current, last = total + current * 1000, 0, "thousand"
        elif (
            word == "and"
            and last in ("hundred", "thousand")
            and (nxt in _EN_UNITS or nxt in _EN_TENS)
        ):
            last = "and"
        else:
            break
        used += 1
    return (total + current, used) if used else None


def _italian_number(word: str) -> int | None:
    """The value of one Italian number word ("venticinque", "centocinquanta", "mille")."""
    if word in _IT_UNITS:
        return _IT_UNITS[word]
    if word == "mille":
        return 1000
    if word.startswith("cento"):
        rest = word[5:]
        return 100 + (_italian_number(rest) or 0) if rest else 100
    for tens, value in _IT_TENS.items():
        for stem in (tens, tens[:-1]):  # ventuno, trentotto: the vowel drops
            if word.startswith(stem) and word != stem[:-1]:
                rest = word[len(stem) :]
                if not rest:
                    return value if stem == tens else None
                unit = _IT_UNITS.get(rest)
                if unit is not None and 0 < unit < 10:
                    return value + unit
    return None


def numbers_to_digits(text: str, lang: str) -> str:
    """Number words written as digits (``text`` already normalised)."""
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        if lang == "it":
            value = _italian_number(words[i])
            out.append(str(value) if value is not None else words[i])
            i += 1
            continue
        found = _english_number(words, i)
        if found is None:
            out.append(words[i])
            i += 1
        else:
            out.append(str(found[0]))
            i += found[1]
    return " ".join(out)


#: (pattern, key) per language; ``{n}`` in a key is the pattern's first group. Longest first.
_TIMEFRAMES: dict[str, list[tuple[str, str]]] = {
    "en": [
        (r"(?:in |over |during )?(?:the )?(?:last|past) (\d+) hours?", "last_{n}_hours"),
        (r"(?:in |over |during )?(?:the )?(?:last|past) (\d+) days?", "last_{n}_days"),
        (r"(?:in |over |during )?the (?:last|past) 24 hours", "last_24_hours"),
        (r"(?:in |over |during )?(?:the )?(?:last|past) hour", "last_hour"),
        (r"(?:in |over |during )?(?:the )?last week", "last_week"),
        (r"(?:in |over |during )?(?:the )?last month", "last_month"),
        (r"(?:in |over |during )?this week", "this_week"),
        (r"(?:in |over |during |for )?this month", "this_month"),
        (r"(?:so far )?today(?: so far)?", "today"),
        (r"(?:of |for |from )?yesterday", "yesterday"),
        (r"right now|now|currently|at the moment|at present", "now"),
    ],
    "it": [
        (r"(?:nelle |negli )?ultim[ei] (\d+) ore", "last_{n}_hours"),
        (r"(?:negli )?ultimi (\d+) giorni", "last_{n}_days"),
        (r"(?:nell |nel |in )?(?:l )?ultima ora", "last_hour"),
        (r"(?:la )?settimana scorsa", "last_week"),
        (r"(?:il )?mese scorso", "last_month"),
        (r"(?:in )?questa settimana", "this_week"),
        (r"(?:in )?questo mese", "this_month"),
        (r"(?:finora )?oggi(?: finora)?", "today"),
        (r"(?:di |del giorno di )?ieri", "yesterday"),
        (r"adesso|ora|in questo momento|attualmente", "now"),
    ],
}
_COMPILED = {
    lang: [(re.compile(rf"(?:^| ){p}(?= |$)"), key) for p, key in rules]
    for lang, rules in _TIMEFRAMES.items()
}


def cut_timeframe(text: str, lang: str) -> tuple[str, str | None]:
    """(utterance without its period, period key or None); the first rule that matches wins."""
    for pattern, key in _COMPILED[lang]:
        match = pattern.search(text)
        if match is None:
            continue
        if "{n}" in key:
            n = int(match.group(1))
            key = "last_hour" if n == 1 and "hours" in key else key.replace("{n}", str(n))
            if key == "last_1_days":
                key = "last_24_hours"
        rest = (text[: match.start()] + " " + text[match.end() :]).split()
        return " ".join(rest), (None if key == "now" else key)
    return text, None
