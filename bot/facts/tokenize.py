"""Word segmentation with jieba plus the domain dictionary (data/jieba/domain.txt).

A private ``jieba.Tokenizer`` is used, so importing the fact store never touches
the global jieba state (Rasa's JiebaTokenizer shares the process in tests).
Loading jieba's dictionary costs ~1.5 s on a slow machine, so it happens on
first use (or explicitly via :meth:`Segmenter.warm_up`), never at import or load.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import jieba

from bot.facts.datafiles import DOMAIN_DICT_PATH

_WORDISH = re.compile(r"[\w\u3400-\u9fff]")
_lock = threading.Lock()


@contextmanager
def _quiet_jieba() -> Iterator[None]:
    # jieba logs "Building prefix dict…" at DEBUG to stderr on every load.
    logger = logging.getLogger("jieba")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


@cache
def _tokenizer(domain_dict: Path) -> jieba.Tokenizer:
    tokenizer = jieba.Tokenizer()
    with _quiet_jieba():
        tokenizer.initialize()
        # jieba leaves a path it opens itself unclosed (ResourceWarning); hand it a file.
        with domain_dict.open("rb") as stream:
            tokenizer.load_userdict(stream)
    return tokenizer


@cache
def domain_terms(domain_dict: Path = DOMAIN_DICT_PATH) -> frozenset[str]:
    """The words of the domain dictionary (first column of each line)."""
    lines = domain_dict.read_text(encoding="utf-8").splitlines()
    return frozenset(line.split()[0].lower() for line in lines if line.strip())


def full_tokenizer(domain_dict: Path = DOMAIN_DICT_PATH) -> jieba.Tokenizer:
    """jieba's default dictionary plus the domain dictionary (loaded once per process)."""
    with _lock:
        return _tokenizer(domain_dict)


class Segmenter:
    """jieba segmentation with stopword and punctuation filtering, lower-cased."""

    def __init__(self, stopwords: Iterable[str] = (), domain_dict: Path = DOMAIN_DICT_PATH) -> None:
        self.stopwords = frozenset(stopwords)
        self._domain_dict = domain_dict

    @property
    def _jieba(self) -> jieba.Tokenizer:
        return full_tokenizer(self._domain_dict)

    def warm_up(self) -> None:
        """Load jieba's dictionary now rather than on the first query."""
        self._jieba.check_initialized()

    def words(self, text: str) -> list[str]:
        """Plain segmentation (jieba ``cut``)."""
        return self._keep(self._jieba.cut(text))

    def search_words(self, text: str) -> list[str]:
        """Search-mode segmentation: each word followed by every dictionary word inside it.

        jieba's own ``cut_for_search`` only adds 2- and 3-character pieces, so a
        domain term inside a longer one (特色产业园区 in 关于加快特色产业园区建设的实施意见)
        would be lost.
        """
        out: list[str] = []
        for word in self.words(text):
            out.append(word)
            if len(word) > 2:
                out.extend(self.subwords(word))
        return out

    def spans(self, text: str) -> list[tuple[str, int, int]]:
        """Plain segmentation with character offsets."""
        return self.keep_spans(self._jieba.tokenize(text))

    def keep_spans(self, spans: Iterable[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
        """Lower-cased tokens of a segmentation, without stopwords and punctuation."""
        out = []
        for word, start, end in spans:
            token = word.strip().lower()
            if self._wanted(token):
                out.append((token, start, end))
        return out

    def raw_spans(self, text: str) -> list[tuple[str, int, int]]:
        """jieba's segmentation with offsets, nothing filtered."""
        return [(w, s, e) for w, s, e in self._jieba.tokenize(text)]

    def is_word(self, word: str) -> bool:
        """Whether ``word`` is in jieba's dictionary (or the domain dictionary)."""
        return bool(self._jieba.FREQ.get(word))

    def is_domain_term(self, word: str) -> bool:
        """Whether ``word`` is in the domain dictionary (data/jieba/domain.txt)."""
        return word.lower() in domain_terms(self._domain_dict)

    def subwords(self, word: str) -> list[str]:
        """Dictionary words of two or more characters strictly inside ``word``."""
        freq = self._jieba.FREQ
        found = []
        for i in range(len(word)):
            for j in range(i + 2, len(word) + 1):
                piece = word[i:j]
                if piece != word and freq.get(piece) and self._wanted(piece):
                    found.append(piece)
        return found

    def general_idf(self, word: str) -> float:
        """How rare ``word`` is in general Chinese: log(total / frequency) in jieba's dictionary.

        Words jieba does not know (HMM coinages such as "我查") take their most
        common character's value, since they are usually a common character plus noise.
        Domain-dictionary terms (人才公寓, 国际学校) are specialised vocabulary, as rare
        as anything: their dictionary frequency only keeps them whole.
        """
        tokenizer = self._jieba
        if self.is_domain_term(word):
            return math.log(float(tokenizer.total))
        total = float(tokenizer.total)
        freq = tokenizer.FREQ.get(word) or 0
        if freq:
            return math.log(total / freq)
        chars = [tokenizer.FREQ.get(ch) or 0 for ch in word]
        known = [f for f in chars if f]
        return math.log(total / max(known)) if known else math.log(total)

    def _wanted(self, token: str) -> bool:
        if not token or not _WORDISH.search(token) or token in self.stopwords:
            return False
        # A coinage of jieba's HMM glued from function words ("能办" = 能 + 办) is
        # not a content word.
        return not (
            len(token) > 1
            and all(ch in self.stopwords for ch in token)
            and not self._jieba.FREQ.get(token)
        )

    def _keep(self, tokens: Iterable[str]) -> list[str]:
        return [t for t in (tok.strip().lower() for tok in tokens) if self._wanted(t)]
