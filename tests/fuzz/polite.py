"""What the bot may say to a user: Rasa's (fake) answers and the front end's own notices."""

from __future__ import annotations

from collections.abc import Iterable

from bot.chat import BUSY_TEXT, FORGOTTEN_TEXT, RATE_LIMITED_TEXT
from bot.desk.service import DISABLED_TEXT
from bot.facts.script import to_traditional
from tests.auxil.fake_rasa_replies import GREETING, HANDOFF, HELP, SCRIPT

ECHO = "echo:"
"""How the scripted fake Rasa answers anything it has no script for ("echo: " + the text)."""
RASA_TEXTS = (
    ECHO,
    GREETING,
    HELP,
    HANDOFF,
    str(SCRIPT["/ask_park"][0]["text"]),
)
COMMON_NOTICES = (RATE_LIMITED_TEXT, FORGOTTEN_TEXT, DISABLED_TEXT)
APOLOGIES = (BUSY_TEXT,)
"""Polite, but only right when something failed: the fakes never fail in these runs."""


def prefixes(texts: Iterable[str]) -> tuple[str, ...]:
    """Each text's opening as the user may see it: Simplified, or converted to Traditional."""
    found: list[str] = []
    for text in texts:
        head = text.split("{", 1)[0]  # a template's fixed part
        found += [head, to_traditional(head)]
    return tuple(dict.fromkeys(found))


_APOLOGY_PREFIXES = prefixes(APOLOGIES)


def assert_polite(text: str, allowed: tuple[str, ...]) -> None:
    """`text` starts like one of `allowed` (see `prefixes`), and is no apology for a failure."""
    assert text.strip(), "an empty message to a user"
    assert not text.startswith(_APOLOGY_PREFIXES), f"an apology: {text!r}"
    assert text.startswith(allowed), f"not an answer the bot gives: {text[:200]!r}"
