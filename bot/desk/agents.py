"""Desk agents and their tokens: `DESK_AGENTS` holds `name:role:sha256(token)` entries.

Only hashes are configured, so a leaked `.env` does not let anyone into the console.
Tokens come from :func:`new_token` (`bizbot desk token NAME`) and are shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

__all__ = [
    "Agent",
    "AgentConfigError",
    "AgentDirectory",
    "AgentNameError",
    "entry_for",
    "hash_token",
    "new_token",
    "validate_name",
]

ROLES = ("agent", "admin")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")
_HASH = re.compile(r"[0-9a-f]{64}")
_NAME_RULE = "1-32 characters from A-Z a-z 0-9 _ . -"


class AgentConfigError(ValueError):
    """Base class for every error about desk agents; messages never contain a token hash."""


class AgentNameError(AgentConfigError):
    """An agent name breaks the naming rule."""


@dataclass(frozen=True)
class Agent:
    """A person who may use the desk console; admins may also manage the desk."""

    name: str
    admin: bool = False

    @property
    def role(self) -> str:
        """`admin` or `agent`, as written in `DESK_AGENTS`."""
        return "admin" if self.admin else "agent"


def hash_token(token: str) -> str:
    """The SHA-256 hex digest of the UTF-8 token, as stored in `DESK_AGENTS`."""
    # A fast hash is enough: tokens are 256 random bits, not passwords, so there is nothing to
    # guess with a dictionary and a slow KDF (bcrypt, scrypt) would only cost every request.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh agent token: 32 random bytes (256 bits), URL-safe base64."""
    return secrets.token_urlsafe(32)


def validate_name(name: str) -> str:
    """Return `name` if it is a valid agent name, else raise AgentNameError."""
    if not _NAME.fullmatch(name):
        raise AgentNameError(f"agent name {name!r} is invalid: use {_NAME_RULE}")
    return name


def entry_for(agent: Agent, token: str) -> str:
    """The `DESK_AGENTS` entry that lets `agent` in with `token`."""
    return f"{validate_name(agent.name)}:{agent.role}:{hash_token(token)}"


class AgentDirectory:
    """The configured agents; authenticates a console token to an agent."""

    __slots__ = ("_entries",)

    def __init__(self, entries: tuple[tuple[Agent, str], ...] = ()) -> None:
        self._entries = entries

    @classmethod
    def parse(cls, spec: str) -> AgentDirectory:
        """Parse `DESK_AGENTS` (comma-separated `name:role:sha256hex`; empty means no agents)."""
        if not spec.strip():
            return cls()
        entries: list[tuple[Agent, str]] = []
        seen_names: dict[str, int] = {}
        seen_hashes: dict[str, int] = {}
        for position, raw in enumerate(spec.split(","), 1):
            agent, digest = _parse_entry(position, raw.strip())
            where = f"DESK_AGENTS entry {position} ({agent.name!r})"
            # Names differing only in case would look like one person in the console and logs.
            earlier = seen_names.setdefault(agent.name.lower(), position)
            if earlier != position:
                raise AgentConfigError(f"{where}: the name is already used by entry {earlier}")
            earlier = seen_hashes.setdefault(digest, position)
            if earlier != position:
                raise AgentConfigError(
                    f"{where}: has the same token hash as entry {earlier}; "
                    "every agent needs their own token"
                )
            entries.append((agent, digest))
        return cls(tuple(entries))

    @property
    def enabled(self) -> bool:
        """Whether any agent is configured; without agents the desk console is off."""
        return bool(self._entries)

    @property
    def agents(self) -> tuple[Agent, ...]:
        """The agents in configuration order."""
        return tuple(agent for agent, _ in self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        # Names only: hashes stay out of logs and tracebacks.
        return f"AgentDirectory({[agent.name for agent in self.agents]!r})"

    def fingerprint(self, name: str) -> str | None:
        """A value derived from the agent's current token hash, kept in their sessions.

        Sessions check it on every request, so rotating or removing a token ends them.
        """
        for agent, digest in self._entries:
            if agent.name == name:
                return hashlib.sha256(f"session:{digest}".encode("ascii")).hexdigest()[:32]
        return None

    def by_fingerprint(self, name: str, fingerprint: str) -> Agent | None:
        """The agent a session belongs to, or None when the token changed since login."""
        current = self.fingerprint(name)
        if current is None or not hmac.compare_digest(current.encode(), fingerprint.encode()):
            return None
        return next(agent for agent in self.agents if agent.name == name)

    def authenticate(self, token: str) -> Agent | None:
        """The agent whose token this is, or None; takes the same time whoever matches."""
        if not token:
            return None
        try:
            candidate = hash_token(token).encode("ascii")
        except UnicodeEncodeError:  # lone surrogates from a mangled header: not any token
            return None
        found: Agent | None = None
        # Compare with every stored hash, without stopping at a match, so the response time
        # tells an attacker neither whether nor which agent matched.
        for agent, digest in self._entries:
            if hmac.compare_digest(candidate, digest.encode("ascii")):
                found = agent
        return found


def _parse_entry(position: int, entry: str) -> tuple[Agent, str]:
    where = f"DESK_AGENTS entry {position}"
    if not entry:
        raise AgentConfigError(f"{where} is empty (a stray comma?)")
    fields = [field.strip() for field in entry.split(":")]
    if len(fields) != 3:
        # The fields are not echoed: one of them may be a hash, or a token pasted by mistake.
        raise AgentConfigError(
            f"{where}: expected name:role:sha256hex (3 fields separated by ':'), "
            f"got {len(fields)} field{'s' if len(fields) != 1 else ''}"
        )
    name, role, digest = fields
    if not _NAME.fullmatch(name):
        raise AgentConfigError(f"{where}: the name must be {_NAME_RULE}")
    where = f"{where} ({name!r})"
    if role.lower() not in ROLES:
        raise AgentConfigError(f"{where}: the role must be 'agent' or 'admin'")
    if not _HASH.fullmatch(digest):
        raise AgentConfigError(
            f"{where}: the third field must be the 64-character lowercase hex SHA-256 of the "
            "token, not the token itself; `bizbot desk token NAME` prints the entry"
        )
    return Agent(name, admin=role.lower() == "admin"), digest
