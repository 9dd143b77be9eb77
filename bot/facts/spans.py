"""Text that remembers where each character came from, so facts can cite their raw source."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Span = tuple[int, int]


@dataclass(frozen=True)
class Tracked:
    """A string plus, for every character, the ``[start, end)`` span it came from in ``source``."""

    text: str
    spans: tuple[Span, ...]
    source: str

    @classmethod
    def of(cls, source: str) -> Tracked:
        """Wrap an unedited string."""
        return cls(source, tuple((i, i + 1) for i in range(len(source))), source)

    def sub(
        self, pattern: re.Pattern[str] | str, repl: str | Callable[[re.Match[str]], str]
    ) -> Tracked:
        """Like ``re.sub``; replacement characters map to the span of the text they replaced."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        out: list[str] = []
        spans: list[Span] = []
        pos = 0
        for match in regex.finditer(self.text):
            start, end = match.span()
            out.append(self.text[pos:start])
            spans.extend(self.spans[pos:start])
            new = repl(match) if callable(repl) else match.expand(repl)
            if new:
                origin = self._origin(start, end)
                out.append(new)
                spans.extend([origin] * len(new))
            pos = end
        out.append(self.text[pos:])
        spans.extend(self.spans[pos:])
        return Tracked("".join(out), tuple(spans), self.source)

    def convert(self, func: Callable[[str], str]) -> Tracked:
        """Apply a character-level conversion such as OpenCC.

        Length-preserving conversions keep per-character spans; otherwise every
        character maps to the whole text (still traceable, just coarser).
        """
        new = func(self.text)
        if new == self.text:
            return self
        if len(new) == len(self.text):
            return Tracked(new, self.spans, self.source)
        whole = self._origin(0, len(self.text))
        return Tracked(new, (whole,) * len(new), self.source)

    def strip(self) -> Tracked:
        """Drop leading and trailing whitespace."""
        stripped = self.text.strip()
        if not stripped:
            return Tracked("", (), self.source)
        start = self.text.index(stripped)
        return self.slice(start, start + len(stripped))

    def slice(self, start: int, end: int) -> Tracked:
        """The characters ``[start, end)``."""
        return Tracked(self.text[start:end], self.spans[start:end], self.source)

    def original(self, start: int = 0, end: int | None = None) -> str:
        """The source text behind characters ``[start, end)``."""
        end = len(self.text) if end is None else end
        if start >= end:
            return ""
        first, last = self._origin(start, end)
        return self.source[first:last]

    def _origin(self, start: int, end: int) -> Span:
        if start < end:
            covered = self.spans[start:end]
            return min(s for s, _ in covered), max(e for _, e in covered)
        # An insertion maps to the empty span where it happened.
        if start < len(self.spans):
            at = self.spans[start][0]
        elif self.spans:
            at = self.spans[-1][1]
        else:
            at = len(self.source)
        return at, at
