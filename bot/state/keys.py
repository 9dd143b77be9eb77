"""The Redis key scheme: every key the bot writes is built here.

All keys start with the configured prefix (`REDIS_KEY_PREFIX`, default `bizbot:`), so the
bot can share a Redis server with Rasa's tracker store (`rasa:` prefix) without clashes.

- `{p}conv:{channel}:{chat_id}` (hash): channel address, script, hand-off state, last seen.
  TTL `CONVERSATION_TTL_DAYS`, refreshed on activity.
- `{p}log:{channel}:{chat_id}` (list): the bounded message log, JSON entries, newest last.
  Same TTL.
- `{p}turns:{channel}:{chat_id}` (list): the per-conversation queue of messages being
  handled, oldest first; a message proceeds at the head, so one conversation's messages are
  handled one at a time and in arrival order, across replicas. 60 s TTL.
- `{p}turn:{token}` (string): one queued message's lease, 60 s TTL; a waiter drops a head
  whose lease lapsed (its replica died). Holds no personal data.
- `{p}rate:{channel}:{chat_id}` (hash): the user's token bucket (tokens, updated), 10 min TTL.
- `{p}dedupe:{channel}:{message_id}` (string): set once per inbound message (WeChat MsgId, or
  FromUserName + CreateTime for events; Telegram `update_id`), 10 min TTL, so retries that
  reach any replica are answered once.
- `{p}wechat:answer:{message_id}` (string): a WeChat answer waiting to be delivered, 10 min TTL,
  so a retry on any replica can carry it as the passive reply.
- `{p}wechat:delivered:{message_id}` (string): the delivery claim: whichever HTTP response or
  customer-service send sets it first delivers the answer, so it goes out exactly once.
- `{p}wechat:access_token` (string): the cached WeChat access token, TTL from its expiry.
- `{p}web:inbox:{chat_id}` (stream): messages pushed to a web-chat user outside a request
  (agent replies, desk notices), read by the page over SSE. Same TTL as the conversation.
- `{p}web:session:{chat_id}` (string): the SHA-256 (hex) of the web-chat session's bearer
  token; the server picks the sender id and the token (`POST /api/chat/session`), and every
  `/api/chat` request and event stream must show the token. Same TTL as the conversation,
  refreshed on activity; deleted by `/forget`.

Service desk (`bot/desk/`); tickets are kept until `/forget` or `DESK_RETENTION_DAYS`:
- `{p}desk:seq` (string): the ticket number counter.
- `{p}desk:ticket:{id}` (hash): one ticket: channel, chat id, display name, created, status,
  assignee, trigger, transcript (JSON).
- `{p}desk:ticket:{id}:events` (stream): the ticket's own events: user messages, agent
  replies, delivery results, status changes.
- `{p}desk:events` (stream, capped): every ticket event, for the console's live feed.
- `{p}desk:queue` (sorted set): open (unclaimed) tickets by creation time: queue positions.
- `{p}desk:tickets` (sorted set): every stored ticket by creation time: the console's list.
- `{p}desk:user-tickets:{channel}:{chat_id}` (set): a user's tickets, for `/forget`.
- `{p}desk:outbox` (stream, consumer group `delivery`): replies and notices to deliver to
  users' channels; an entry is acknowledged only once delivered or given up as failed.
- `{p}desk:idem:{ticket_id}:{key}` (string): an agent reply's idempotency key -> reply id,
  24 h TTL, so a retried request does not send the reply twice.
- `{p}desk:delivery:{delivery_id}` (hash): one delivery's state (pending, sending with a lease,
  delivered, failed), attempts and last error; it is the delivery claim, so a redelivered
  outbox entry is not sent twice. Kept as long as the ticket.
- `{p}desk:session:{sid}` (hash): a console session: agent name and CSRF token; 12 h TTL.
- `{p}unanswered` (stream, capped): every fallback and "not in my sources" reply: question,
  time, channel, top intent (the unanswered-question loop).

The conversation hash also holds `script` (hans/hant), `handoff` (the hand-off state), the
channel address (`chat_type`, `username`, `display_name` on Telegram; `openid`, `app_id` on
WeChat) and `wechat_buttons` (the last turn's button titles, so a typed title acts as a tap).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    """Builds keys under one prefix."""

    prefix: str

    def conversation(self, channel: str, chat_id: str) -> str:
        """Hash with the conversation's address and state."""
        return f"{self.prefix}conv:{channel}:{chat_id}"

    def log(self, channel: str, chat_id: str) -> str:
        """List with the bounded message log."""
        return f"{self.prefix}log:{channel}:{chat_id}"

    def turns(self, channel: str, chat_id: str) -> str:
        """Per-conversation queue of messages being handled, oldest first."""
        return f"{self.prefix}turns:{channel}:{chat_id}"

    def turn_lease(self, token: str) -> str:
        """One queued message's lease (expires if its replica dies)."""
        return f"{self.prefix}turn:{token}"

    def rate(self, channel: str, chat_id: str) -> str:
        """The user's rate-limit token bucket."""
        return f"{self.prefix}rate:{channel}:{chat_id}"

    def dedupe(self, channel: str, message_id: str) -> str:
        """Marks an inbound message as seen."""
        return f"{self.prefix}dedupe:{channel}:{message_id}"

    def wechat_answer(self, message_id: str) -> str:
        """A computed WeChat answer awaiting delivery."""
        return f"{self.prefix}wechat:answer:{message_id}"

    def wechat_delivery(self, message_id: str) -> str:
        """The exactly-once delivery claim of a WeChat answer."""
        return f"{self.prefix}wechat:delivered:{message_id}"

    def wechat_access_token(self) -> str:
        """The cached WeChat API access token."""
        return f"{self.prefix}wechat:access_token"

    def web_inbox(self, chat_id: str) -> str:
        """Stream of messages pushed to a web-chat user."""
        return f"{self.prefix}web:inbox:{chat_id}"

    def web_session(self, chat_id: str) -> str:
        """The hash of a web-chat user's session token."""
        return f"{self.prefix}web:session:{chat_id}"

    def desk_seq(self) -> str:
        """Ticket number counter."""
        return f"{self.prefix}desk:seq"

    def ticket(self, ticket_id: str) -> str:
        """Hash of one ticket."""
        return f"{self.prefix}desk:ticket:{ticket_id}"

    def ticket_events(self, ticket_id: str) -> str:
        """Stream of one ticket's events."""
        return f"{self.prefix}desk:ticket:{ticket_id}:events"

    def desk_events(self) -> str:
        """Capped stream of every ticket event (the console's live feed)."""
        return f"{self.prefix}desk:events"

    def desk_queue(self) -> str:
        """Sorted set of open tickets by creation time."""
        return f"{self.prefix}desk:queue"

    def desk_tickets(self) -> str:
        """Sorted set of every stored ticket by creation time."""
        return f"{self.prefix}desk:tickets"

    def user_tickets(self, channel: str, chat_id: str) -> str:
        """Set of one user's ticket ids."""
        return f"{self.prefix}desk:user-tickets:{channel}:{chat_id}"

    def desk_outbox(self) -> str:
        """Stream of messages to deliver to users' channels."""
        return f"{self.prefix}desk:outbox"

    def desk_idempotency(self, ticket_id: str, key: str) -> str:
        """An agent reply's idempotency key."""
        return f"{self.prefix}desk:idem:{ticket_id}:{key}"

    def desk_delivery(self, delivery_id: str) -> str:
        """One delivery's state: the claim, attempts and last error."""
        return f"{self.prefix}desk:delivery:{delivery_id}"

    def desk_session(self, session_id: str) -> str:
        """A desk console session."""
        return f"{self.prefix}desk:session:{session_id}"

    def unanswered(self) -> str:
        """Capped stream of questions the bot could not answer."""
        return f"{self.prefix}unanswered"

    def user_keys(self, channel: str, chat_id: str) -> list[str]:
        """Every key that holds data about one user (used by /forget)."""
        return [
            self.conversation(channel, chat_id),
            self.log(channel, chat_id),
            self.turns(channel, chat_id),
            self.rate(channel, chat_id),
            self.user_tickets(channel, chat_id),
            *([self.web_inbox(chat_id), self.web_session(chat_id)] if channel == "web" else []),
        ]
