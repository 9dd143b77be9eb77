"""Desk agents: parsing DESK_AGENTS, hashing tokens and authenticating them."""

from __future__ import annotations

import hashlib
import hmac
from unittest import mock

import pytest

from bot.desk.agents import (
    Agent,
    AgentConfigError,
    AgentDirectory,
    AgentNameError,
    entry_for,
    hash_token,
    new_token,
    validate_name,
)

ALICE_TOKEN = "alice-token-0123456789"
BOB_TOKEN = "bob-token-abcdefghij"
ALICE_HASH = hashlib.sha256(ALICE_TOKEN.encode()).hexdigest()
BOB_HASH = hashlib.sha256(BOB_TOKEN.encode()).hexdigest()
SPEC = f"alice:admin:{ALICE_HASH},bob:agent:{BOB_HASH}"


@pytest.fixture
def directory() -> AgentDirectory:
    return AgentDirectory.parse(SPEC)


def test_hash_token_is_the_sha256_hex_of_the_utf8_token() -> None:
    assert hash_token("令牌-token") == hashlib.sha256("令牌-token".encode()).hexdigest()
    assert len(hash_token("x")) == 64


def test_new_tokens_are_urlsafe_and_carry_256_random_bits() -> None:
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert len(token) == 43  # 32 bytes in unpadded base64
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_parse_reads_names_roles_and_keeps_order(directory: AgentDirectory) -> None:
    assert directory.enabled
    assert len(directory) == 2
    assert directory.agents == (Agent("alice", admin=True), Agent("bob", admin=False))
    assert [agent.role for agent in directory.agents] == ["admin", "agent"]


def test_parse_tolerates_spaces_and_a_capitalised_role() -> None:
    loose = AgentDirectory.parse(f"  alice : Admin : {ALICE_HASH} ,\n bob:agent:{BOB_HASH}  ")
    assert loose.agents == (Agent("alice", admin=True), Agent("bob"))


@pytest.mark.parametrize("spec", ["", "   ", "\n"])
def test_an_empty_spec_is_an_empty_disabled_directory(spec: str) -> None:
    directory = AgentDirectory.parse(spec)
    assert not directory.enabled
    assert directory.agents == ()
    assert directory.authenticate(ALICE_TOKEN) is None


def test_authenticate_returns_the_agent_whose_token_it_is(directory: AgentDirectory) -> None:
    assert directory.authenticate(ALICE_TOKEN) == Agent("alice", admin=True)
    assert directory.authenticate(BOB_TOKEN) == Agent("bob", admin=False)


@pytest.mark.parametrize(
    "token", ["", "wrong", ALICE_TOKEN + " ", ALICE_TOKEN.upper(), ALICE_HASH, "\udcff"]
)
def test_authenticate_refuses_other_tokens_and_the_hash_itself(
    directory: AgentDirectory, token: str
) -> None:
    assert directory.authenticate(token) is None


@pytest.mark.parametrize("token", [ALICE_TOKEN, BOB_TOKEN, "nobody"])
def test_authenticate_compares_with_every_stored_hash_whoever_matches(
    directory: AgentDirectory, token: str
) -> None:
    with mock.patch.object(hmac, "compare_digest", wraps=hmac.compare_digest) as compare:
        directory.authenticate(token)
    assert compare.call_count == 2
    compared = sorted(call.args[1] for call in compare.call_args_list)
    assert compared == sorted([ALICE_HASH.encode(), BOB_HASH.encode()])


def test_entry_for_round_trips_through_parse() -> None:
    token = new_token()
    entry = entry_for(Agent("carol.w", admin=False), token)
    assert entry == f"carol.w:agent:{hash_token(token)}"
    assert AgentDirectory.parse(entry).authenticate(token) == Agent("carol.w")


@pytest.mark.parametrize("name", ["a", "A_b.c-9", "x" * 32])
def test_valid_names_pass(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "x" * 33, "al ice", "alice:admin", "张三", "a,b"])
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(AgentNameError, match="1-32 characters"):
        validate_name(name)


def test_repr_lists_names_but_no_hashes(directory: AgentDirectory) -> None:
    assert repr(directory) == "AgentDirectory(['alice', 'bob'])"


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (f"alice:admin:{ALICE_HASH},", ["entry 2 is empty"]),
        (f",alice:admin:{ALICE_HASH}", ["entry 1 is empty"]),
        (f"alice:{ALICE_HASH}", ["entry 1", "got 2 fields"]),
        (f"alice:admin:{ALICE_HASH}:extra", ["entry 1", "got 4 fields"]),
        (f"bob:agent:{BOB_HASH},{ALICE_HASH}", ["entry 2", "got 1 field"]),
        (f"bob:agent:{BOB_HASH},al ice:admin:{ALICE_HASH}", ["entry 2", "1-32 characters"]),
        (f"{ALICE_HASH}:admin:{BOB_HASH}", ["entry 1", "1-32 characters"]),
        (f"alice:{BOB_HASH}:{ALICE_HASH}", ["entry 1 ('alice')", "'agent' or 'admin'"]),
        (f"alice:root:{ALICE_HASH}", ["entry 1 ('alice')", "'agent' or 'admin'"]),
        (f"alice:admin:{ALICE_HASH.upper()}", ["entry 1 ('alice')", "lowercase hex"]),
        (f"alice:admin:{ALICE_HASH[:-1]}", ["entry 1 ('alice')", "64-character"]),
        ("alice:admin:" + ALICE_TOKEN, ["entry 1 ('alice')", "not the token itself"]),
        (
            f"alice:admin:{ALICE_HASH},bob:agent:{BOB_HASH},Alice:agent:{hash_token('z')}",
            ["entry 3 ('Alice')", "already used by entry 1"],
        ),
        (
            f"alice:admin:{ALICE_HASH},bob:agent:{ALICE_HASH}",
            ["entry 2 ('bob')", "same token hash as entry 1"],
        ),
    ],
)
def test_parse_errors_name_the_entry_by_position_and_never_echo_a_hash(
    spec: str, words: list[str]
) -> None:
    with pytest.raises(AgentConfigError) as caught:
        AgentDirectory.parse(spec)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    for word in words:
        assert word in message
    for secret in (ALICE_HASH, BOB_HASH, ALICE_HASH.upper(), ALICE_HASH[:-1], ALICE_TOKEN):
        assert secret not in message
