"""Custom actions: thin classes over the fact store, the dialogue context and the replies."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.meta import (
    ENTITY_NAMES,
    intent_of,
    latest_entities,
    mentions,
    meta_payload,
    script_of,
)
from actions.replies import known, say, topic_name
from actions.store import fact_store
from bot.facts import compose_answer

DomainDict = dict[str, Any]
MIN_QUESTION_CHARS = 8
_HAN = re.compile(r"[\u4e00-\u9fff]")
RESET = [SlotSet("fallback_count", 0.0), SlotSet("handoff_offered", False)]


Run = Callable[[Any, CollectingDispatcher, Tracker, DomainDict], Awaitable[list[EventType]]]


def changes_only(run: Run) -> Run:
    """Drop the SlotSet events that would set a slot to the value it already has.

    Rasa keeps every event for the rest of the conversation, sends them all to the action
    server on each turn and checks each action response against its event schema, so an
    event that changes nothing still costs time on every later turn (docs/performance.md).
    """

    @functools.wraps(run)
    async def wrapper(
        self: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await run(self, dispatcher, tracker, domain)
        return [
            event
            for event in events
            if not (
                event.get("event") == "slot" and tracker.get_slot(event["name"]) == event["value"]
            )
        ]

    return wrapper


def _surfaces(tracker: Tracker) -> list[str]:
    """The text of each known entity mention in the latest message."""
    return [surface for _, _, surface in mentions(tracker)]


def handoff(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> list[EventType]:
    """Tell the user a human is coming and emit the `handoff` event for the front end."""
    say(dispatcher, tracker, "handoff")
    dispatcher.utter_message(
        json_message=meta_payload(
            tracker,
            escalated=True,
            events=["handoff"],
            handoff={"reason": reason, "text": tracker.latest_message.get("text") or ""},
        )
    )
    return list(RESET)


def answer(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Search with the resolved context; reply with a cited answer or an honest refusal."""
    text = tracker.latest_message.get("text") or ""
    topic = context.TOPIC_BY_INTENT.get(intent_of(tracker))
    if text.startswith("/") and topic:
        # A topic button was pressed: ask what about, rather than searching for "/ask_park".
        say(dispatcher, tracker, "topic_prompt", topic=topic_name(topic))
        dispatcher.utter_message(json_message=meta_payload(tracker, events=["topic_prompt"]))
        return [SlotSet("topic", topic), *RESET]
    slots = {name: tracker.get_slot(name) for name in (*ENTITY_NAMES, "topic", "question")}
    ctx = context.resolve(
        text,
        intent_of(tracker),
        latest_entities(tracker),
        _surfaces(tracker),
        slots,
    )
    hits = fact_store().search(ctx.query, topic=ctx.topic, region=ctx.region, k=3)
    if hits:
        result = compose_answer(hits, script=script_of(tracker))
        dispatcher.utter_message(text=result.text)
        sources, events = list(result.sources), ["answer"]
    else:
        say(dispatcher, tracker, "not_in_sources")
        sources, events = [], ["not_in_sources"]
    resolved = {
        name: value
        for name, value in (("region", ctx.region), ("park", ctx.park), ("industry", ctx.industry))
        if value
    }
    dispatcher.utter_message(
        json_message=meta_payload(
            tracker, entities=resolved, sources=sources, events=events, topic=ctx.topic
        )
    )
    return [
        SlotSet("region", ctx.region),
        SlotSet("park", ctx.park),
        SlotSet("industry", ctx.industry),
        SlotSet("topic", ctx.topic),
        SlotSet("question", ctx.question),
        *RESET,
    ]


class ActionAnswer(Action):
    """Answers an `ask_*` question from the fact store, or says the sources are silent."""

    def name(self) -> str:
        return "action_answer"

    @changes_only
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return answer(dispatcher, tracker)


class ActionReply(Action):
    """Small talk and meta questions: a short reply that says what the bot covers."""

    def name(self) -> str:
        return "action_reply"

    @changes_only
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = intent_of(tracker) or "help"
        if intent == "affirm" and tracker.get_slot("handoff_offered"):
            return handoff(dispatcher, tracker, "fallback_accepted")
        if _continues_topic(tracker, intent):
            return answer(dispatcher, tracker)
        say(dispatcher, tracker, intent if known(intent) else "help")
        dispatcher.utter_message(json_message=meta_payload(tracker, events=["reply"]))
        return list(RESET)


def _continues_topic(tracker: Tracker, intent: str) -> bool:
    """An elliptical follow-up that NLU took for small talk ("那南湖区呢？" as out_of_scope).

    Such a message has no topic of its own, so NLU can only guess; the conversation decides.
    A bare new entity continues the topic whatever the guess; "那…呢" about another aspect
    only when the guess is out_of_scope, because "没呢" is a plain deny.
    """
    if not tracker.get_slot("topic"):
        return False
    text = tracker.latest_message.get("text") or ""
    surfaces = _surfaces(tracker)
    if context.is_elliptical(text, surfaces):
        return True
    return intent == "out_of_scope" and context.asks_about_more(text, surfaces)


def _is_substantive(text: str) -> bool:
    """A real question (enough Chinese to search on), not "嗯嗯" or keyboard mashing."""
    return len(_HAN.findall(text)) >= MIN_QUESTION_CHARS


class ActionClarify(Action):
    """Low confidence: follow-ups and real questions go to the fact store, else clarify."""

    def name(self) -> str:
        return "action_clarify"

    @changes_only
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        if tracker.get_slot("topic") and context.is_follow_up(text, _surfaces(tracker)):
            return answer(dispatcher, tracker)
        if _is_substantive(text):
            # NLU cannot tell the topic, but the question is real: the fact store answers
            # without a topic filter, or the reply says plainly that the sources are silent.
            return answer(dispatcher, tracker)
        count = float(tracker.get_slot("fallback_count") or 0.0) + 1
        offered = count >= 2
        say(dispatcher, tracker, "offer_human" if offered else "clarify")
        dispatcher.utter_message(
            json_message=meta_payload(tracker, events=["fallback"], fallback_count=count)
        )
        return [SlotSet("fallback_count", count), SlotSet("handoff_offered", offered)]


class ActionHandoff(Action):
    """Hands the conversation to a human; the front end acts on the `handoff` event."""

    def name(self) -> str:
        return "action_handoff"

    @changes_only
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return handoff(dispatcher, tracker, "request_human")
