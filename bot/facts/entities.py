"""The canonical entity table (data/entities.yml) and longest-match entity spotting."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from bot.facts.datafiles import ENTITIES_PATH, load_yaml, string_list
from bot.facts.errors import DataFileError
from bot.facts.models import TOPICS
from bot.facts.normalize import normalize_str

Kind = Literal["region", "park", "industry", "programme"]
_KINDS: dict[str, Kind] = {
    "regions": "region",
    "parks": "park",
    "industries": "industry",
    "programmes": "programme",
}

# A synonym that is also an everyday word only names the entity outside these
# contexts: "企业落户菊园" is a company moving in, not 人才引进落户 (hukou).
_SENSE_GUARDS: dict[str, re.Pattern[str]] = {
    "落户": re.compile(r"(企业|公司|总部|项目|机构)[^，。；]{0,6}$"),
}


@dataclass(frozen=True)
class Entity:
    """A canonical entity and how it is written."""

    name: str
    kind: Kind
    synonyms: tuple[str, ...]
    parent: str | None = None  # regions: the enclosing region
    region: str | None = None  # parks: where the park is
    topic: str | None = None  # programmes: the fact topic they belong to


@dataclass(frozen=True)
class Mention:
    """An entity found in a text."""

    entity: Entity
    surface: str
    start: int
    end: int


@dataclass(frozen=True)
class EntityTable:
    """All entities with a surface-form index for matching."""

    entities: tuple[Entity, ...]
    path: Path
    _surfaces: dict[str, Entity] = field(default_factory=dict, repr=False)
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)

    _regions: dict[str, Entity] = field(default_factory=dict, repr=False)

    @property
    def regions(self) -> dict[str, Entity]:
        """Region entities by canonical name."""
        return self._regions

    def by_name(self, name: str) -> Entity | None:
        """Look up an entity by canonical name or synonym (normalised, case-insensitive)."""
        return self._surfaces.get(_key(normalize_str(name)))

    def canonical_region(self, name: str) -> str | None:
        """The canonical region for a region name or synonym, else None."""
        entity = self.by_name(name)
        return entity.name if entity is not None and entity.kind == "region" else None

    def ancestors(self, region: str) -> list[str]:
        """``region`` and the regions enclosing it, innermost first."""
        chain: list[str] = []
        regions = self.regions
        current: str | None = region
        while current is not None and current not in chain:
            chain.append(current)
            entity = regions.get(current)
            current = entity.parent if entity is not None else None
        return chain

    def within(self, region: str, scope: str) -> bool:
        """Whether ``region`` is ``scope`` or lies inside it."""
        return scope in self.ancestors(region)

    def region_of(self, entity: Entity) -> str | None:
        """The region an entity names or sits in."""
        if entity.kind == "region":
            return entity.name
        return entity.region

    def find(self, text: str) -> list[Mention]:
        """Non-overlapping mentions in ``text``, longest surface form first."""
        if self._pattern is None or not text:
            return []
        mentions = []
        for match in self._pattern.finditer(text):
            surface = match.group()
            entity = self._surfaces[_key(surface)]
            guard = _SENSE_GUARDS.get(surface)
            if guard is not None and guard.search(text[: match.start()]):
                continue
            mentions.append(Mention(entity, surface, match.start(), match.end()))
        return mentions


def _key(surface: str) -> str:
    return surface.lower()


@cache
def load_entities(path: Path = ENTITIES_PATH) -> EntityTable:
    """Parse entities.yml (cached per path)."""
    return entities_from_data(load_yaml(path), path)


def entities_from_data(data: dict[str, Any], path: Path) -> EntityTable:
    """Build the table from the parsed entities.yml mapping (also stored in the index)."""
    entities: list[Entity] = []
    for section, kind in _KINDS.items():
        items = data.get(section) or []
        if not isinstance(items, list):
            raise DataFileError(f"{section!r} must be a list", path=path)
        entities.extend(_entity(item, kind, path) for item in items)
    surfaces: dict[str, Entity] = {}
    for entity in entities:
        for surface in (entity.name, *entity.synonyms):
            surfaces.setdefault(_key(normalize_str(surface)), entity)
    ordered = sorted(surfaces, key=lambda s: (-len(s), s))
    # ASCII names (AI, IC, MEMS) must not match inside longer Latin words.
    alternatives = [
        rf"(?<![A-Za-z]){re.escape(s)}(?![A-Za-z])" if s.isascii() else re.escape(s)
        for s in ordered
    ]
    pattern = re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None
    regions = {e.name: e for e in entities if e.kind == "region"}
    return EntityTable(tuple(entities), path, surfaces, pattern, regions)


def _entity(item: Any, kind: Kind, path: Path) -> Entity:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise DataFileError(f"every {kind} needs a 'name'", path=path)
    name = normalize_str(item["name"])
    synonyms = tuple(
        normalize_str(s)
        for s in string_list(item.get("synonyms"), path=path, what=f"{name} synonyms")
    )
    topic = item.get("topic")
    if kind == "programme" and topic not in TOPICS:
        raise DataFileError(f"programme {name!r} has unknown topic {topic!r}", path=path)
    return Entity(
        name=name,
        kind=kind,
        synonyms=synonyms,
        parent=item.get("parent"),
        region=item.get("region"),
        topic=topic,
    )


def raw_surface_forms(path: Path = ENTITIES_PATH) -> list[str]:
    """Every name and synonym exactly as written in entities.yml (for the jieba dictionary)."""
    data = load_yaml(path)
    forms: list[str] = []
    for section in _KINDS:
        for item in data.get(section) or []:
            forms.append(str(item["name"]))
            forms.extend(string_list(item.get("synonyms"), path=path, what="synonyms"))
    return forms
