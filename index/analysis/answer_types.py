"""What kind of answer a question asks for, and whether a sentence holds one.

"When did the delegation arrive?" is answered by a sentence with a date, "how many" by one with
a number, "who" by one naming someone, "where" by one naming a place. The sentence that repeats
most of the question's words is often not that sentence: a news article's lead restates the
story, and the date sits in the next one. These are shape rules, no tagger: capitalised words
that do not start the sentence are names; digits, number words and month names are amounts and
dates; "in/at/near" before a capitalised word is a place. Whatever the question itself already
says ("Super Bowl 50", "Levi's Stadium") is not an answer to it, so it never counts.
"""

from __future__ import annotations

import re
from enum import Enum


class AnswerType(Enum):
    DATE = "date"
    NUMBER = "number"
    NAME = "name"
    PLACE = "place"


_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    "hundred|hundreds|thousand|thousands|million|millions|billion|billions|trillion|dozen|dozens|"
    "twice|thrice|half|percent"
)

# The question's wording, in the order tried: the first that matches decides.
_QUESTIONS: tuple[tuple[AnswerType, re.Pattern[str]], ...] = (
    (
        AnswerType.DATE,
        re.compile(
            r"\bwhen\b|\b(?:what|which) (?:year|years|century|decade|date|day|month|time|period|era|season)\b"
            r"|\bhow long ago\b|\bsince when\b",
            re.I,
        ),
    ),
    (
        AnswerType.NUMBER,
        re.compile(
            r"\bhow (?:many|much|long|old|far|large|big|high|tall|deep|wide|often|fast|heavy|long ago)\b"
            r"|\b(?:what|which) (?:percent|percentage|share|proportion|number|amount|age|size|price|cost|rate)\b",
            re.I,
        ),
    ),
    (
        AnswerType.NAME,
        re.compile(
            r"^\W*(?:who|whom|whose)\b|[,;:]\s*(?:who|whom|whose)\b|\b(?:and|but|so) (?:who|whom|whose)\b"
            r"|\b(?:which|what) (?:person|people|man|woman|company|companies|organi[sz]ation|team|group|agency|"
            r"firm|party|band|author|writer|president|leader|player|king|queen)\b",
            re.I,
        ),
    ),
    (
        AnswerType.PLACE,
        re.compile(
            r"^\W*where\b|[,;:]\s*where\b|\b(?:and|but|so) where\b"
            r"|\b(?:which|what) (?:country|countries|city|cities|state|states|place|places|town|region|continent|"
            r"location|island|river|area|province|county|nation|venue|site|port|stadium|building)\b"
            r"|\bin which (?:country|city|state|region)\b",
            re.I,
        ),
    ),
)

_DATE = re.compile(
    r"\b(?:\d{3,4}s?|\d{1,2}(?:st|nd|rd|th)|"
    + _MONTHS
    + "|"
    + _WEEKDAYS
    + r"|century|centuries|decade|decades|bc|ad|bce|ce)\b",
    re.I,
)
_NUMBER = re.compile(r"\d[\d,.]*%?|\b(?:" + _NUMBER_WORDS + r")\b", re.I)
# A capitalised word: an upper-case letter, then letters, digits, hyphens or apostrophes ("RD-180",
# "O'Neill", "McManus"); one upper-case letter followed by a period is an initial and counts too.
_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]*")
_PLACE = re.compile(r"\b(?:in|at|near|into|from|outside|inside|across|throughout)\s+(?:the\s+)?([A-Z][\w'’-]*)")
_WORD = re.compile(r"[\w'’-]+")
_MONTH_OR_DAY = frozenset((_MONTHS + "|" + _WEEKDAYS).split("|"))


def answer_type(question: str) -> AnswerType | None:
    """The kind of answer the question asks for, or None when its wording does not say."""
    for kind, pattern in _QUESTIONS:
        if pattern.search(question):
            return kind
    return None


def question_words(question: str) -> frozenset[str]:
    """The question's words, case-folded: an answer candidate among them answers nothing."""
    return frozenset(_fold(w) for w in _WORD.findall(question))


def _fold(word: str) -> str:
    """A word as `question_words` keeps it: case-folded, without edge punctuation or a final 's."""
    word = word.casefold().strip("'’-")
    return word[:-2] if word.endswith(("'s", "’s")) else word


def holds_answer(sentence: str, kind: AnswerType, asked: frozenset[str]) -> bool:
    """Whether the sentence holds something of that kind the question (`asked`, from
    `question_words`) does not already name."""
    if kind is AnswerType.DATE:
        return any(m.group(0).casefold() not in asked for m in _DATE.finditer(sentence))
    if kind is AnswerType.NUMBER:
        return any(m.group(0).rstrip(",.%").casefold() not in asked for m in _NUMBER.finditer(sentence))
    if kind is AnswerType.PLACE:
        return any(_fold(m.group(1)) not in asked for m in _PLACE.finditer(sentence))
    return _holds_new_name(sentence, asked)


def _holds_new_name(sentence: str, asked: frozenset[str]) -> bool:
    """A capitalised word that does not start the sentence, is not a month or weekday, and is
    not one of the question's words."""
    start = len(sentence) - len(sentence.lstrip(" \t\"'“‘(["))
    for m in _CAPITALISED.finditer(sentence):
        if m.start() <= start:
            continue  # the sentence's first word is capitalised whatever it is
        word = _fold(m.group(0))
        if word not in asked and word not in _MONTH_OR_DAY and word != "i":
            return True
    return False
