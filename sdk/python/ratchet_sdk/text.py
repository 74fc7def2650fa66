"""Text-matching helpers with the Rust SDK's exact semantics (``sdk/rust/src/text.rs``):
most policy checks are "did the agent say one of these phrases?", and case folding,
word boundaries and simple negation must give the same answer in every language.

* Case-insensitive means both sides lower-cased with ``str.lower()`` (full Unicode
  lower-casing, as Rust's ``str::to_lowercase``).
* A *word* boundary is a character that is not alphanumeric in Rust's sense
  (``char::is_alphanumeric``: Unicode Alphabetic or Numeric), from a table generated
  from Rust, so ``é`` or a Devanagari vowel sign count as letters here too.
* Empty phrases never match; phrases are tried in list order and the first that
  matches wins.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Iterable, Iterator, Optional

from ._alnum import RANGES as _ALNUM_RANGES

__all__ = [
    "is_alphanumeric", "Phrases", "find_any_ci", "contains_any_ci", "find_any_word_ci",
    "contains_any_word_ci", "find_affirmed_ci", "regex_escape", "phrases_pattern", "NEGATIONS", "WHITESPACE", "trim",
]

#: Words that, shortly before a phrase in the same clause, turn a claim into its
#: negation ("has **not** been cancelled", "**never** refunded").
NEGATIONS = ("not", "no", "never", "cannot", "unable", "without", "yet")

#: Rust's ``char::is_whitespace`` (Unicode White_Space): what ``str::trim`` strips.
#: Python's ``str.strip()`` also strips U+001C..U+001F, JavaScript's ``trim()``
#: U+FEFF but not U+0085; the SDKs use this set so a trimmed text is the same everywhere.
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def trim(s: str) -> str:
    """Rust's ``str::trim``: ``s`` without leading and trailing Unicode White_Space."""
    return s.strip(WHITESPACE)


_STARTS = _ALNUM_RANGES[0::2]
_ENDS = _ALNUM_RANGES[1::2]


def is_alphanumeric(c: str) -> bool:
    """Rust's ``char::is_alphanumeric`` for the one-character string ``c``."""
    cp = ord(c)
    if cp < 128:
        return c.isalnum()
    i = bisect_right(_STARTS, cp) - 1
    return i >= 0 and cp <= _ENDS[i]


def _occurrences(hay: str, needle: str) -> Iterator[int]:
    """Start offsets of all (possibly overlapping) occurrences of ``needle``."""
    start = hay.find(needle)
    while start != -1:
        yield start
        start = hay.find(needle, start + 1)


def _whole_word(hay: str, start: int, end: int) -> bool:
    return (start == 0 or not is_alphanumeric(hay[start - 1])) and (end == len(hay) or not is_alphanumeric(hay[end]))


_ASCII_WORD = re.compile(r"[A-Za-z0-9']+")


def _negated_before(prefix: str) -> bool:
    """True when the clause ending at the end of ``prefix`` has a negation among
    its last four words."""
    cut = max(prefix.rfind(p) for p in ".,;:!?")
    clause = prefix[cut + 1:]
    if clause.isascii():
        # The same split, in one C call: in ASCII, Rust's alphanumerics are [A-Za-z0-9].
        words = _ASCII_WORD.findall(clause)
    else:
        words = _words(clause)
    for w in words[-4:]:
        if w in NEGATIONS or w.endswith("n't") or w.endswith("n\u2019t"):
            return True
    return False


def _words(clause: str) -> list:
    """The clause's words: runs of alphanumerics and apostrophes (' and \u2019)."""
    words = []
    cur = []
    for ch in clause:
        if is_alphanumeric(ch) or ch == "'" or ch == "\u2019":
            cur.append(ch)
        elif cur:
            words.append("".join(cur))
            cur = []
    if cur:
        words.append("".join(cur))
    return words


class Phrases:
    """A phrase list lower-cased once, to match against many texts (the reusable
    form of ``find_any_ci``, ``find_any_word_ci`` and ``find_affirmed_ci``)."""

    def __init__(self, phrases: Iterable[str]):
        self.items = [(p, p.lower()) for p in phrases if p]

    def find_in(self, text: str) -> Optional[str]:
        """The first phrase contained in ``text``, ignoring case."""
        hay = text.lower()
        for phrase, low in self.items:
            if low in hay:
                return phrase
        return None

    def find_word_in(self, text: str) -> Optional[str]:
        """The first phrase contained in ``text`` as whole words, ignoring case
        (``cancel`` does not match ``cancellation``)."""
        hay = text.lower()
        for phrase, low in self.items:
            # `in` first: most phrases are absent, and it costs one C call.
            if low in hay and any(_whole_word(hay, s, s + len(low)) for s in _occurrences(hay, low)):
                return phrase
        return None

    def find_affirmed_in(self, text: str) -> Optional[str]:
        """The first phrase ``text`` *affirms*: a whole-word match not negated by a
        negation word (``not``, ``never``, any ``...n't``) among the four words
        before it in the same clause (clauses end at ``. , ; : ! ?``)."""
        hay = text.lower()
        for phrase, low in self.items:
            if low in hay and any(_whole_word(hay, s, s + len(low)) and not _negated_before(hay[:s]) for s in _occurrences(hay, low)):
                return phrase
        return None


def find_any_ci(haystack: str, needles: Iterable[str]) -> Optional[str]:
    """The first of ``needles`` found in ``haystack``, ignoring case."""
    return Phrases(needles).find_in(haystack)


def contains_any_ci(haystack: str, needles: Iterable[str]) -> bool:
    """True when ``haystack`` contains any of ``needles``, ignoring case."""
    return find_any_ci(haystack, needles) is not None


def find_any_word_ci(haystack: str, needles: Iterable[str]) -> Optional[str]:
    """Like ``find_any_ci``, but needles only match as whole words."""
    return Phrases(needles).find_word_in(haystack)


def contains_any_word_ci(haystack: str, needles: Iterable[str]) -> bool:
    """True when ``haystack`` contains any of ``needles`` as whole words, ignoring case."""
    return find_any_word_ci(haystack, needles) is not None


def find_affirmed_ci(haystack: str, needles: Iterable[str]) -> Optional[str]:
    """The first of ``needles`` that ``haystack`` affirms (see ``Phrases.find_affirmed_in``):
    "your plan has been cancelled" affirms ``cancelled``; "has not been cancelled" does not."""
    return Phrases(needles).find_affirmed_in(haystack)


_META = "\\.+*?()|[]{}^$#&-~"
_ESCAPES = str.maketrans({c: "\\" + c for c in _META})


def regex_escape(text: str) -> str:
    """Escapes regex metacharacters so ``text`` matches literally (Rust ``regex``
    syntax, as the gate's ``must-say`` / ``must-not-say`` patterns use)."""
    return text.translate(_ESCAPES)


def phrases_pattern(phrases: Iterable[str], whole_words: bool) -> str:
    """A case-insensitive regex matching any of ``phrases`` literally, as whole words
    when ``whole_words`` (e.g. ``(?i)\\b(?:cancelled|canceled)\\b``). Empty phrases are skipped."""
    b = "\\b" if whole_words else ""
    return "(?i)" + b + "(?:" + "|".join(regex_escape(p) for p in phrases if p) + ")" + b
