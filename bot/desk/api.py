"""The desk's JSON API (`/desk/api/...`), used by the console and by other desk tools.

Documented in docs/desk-api.md. Authentication and CSRF checks are `bot.desk.auth`'s
middleware; handlers find the agent in `request[ACTOR]`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot import sse
from bot.desk.auth import ACTOR, CSRF
from bot.desk.errors import (
    DeskError,
    TicketConflictError,
    TicketForbiddenError,
    TicketNotFoundError,
)
from bot.desk.tickets import STATUSES, Status, Ticket, event_from_entry
from bot.errors import error_response, json_response, read_json_object
from bot.keys import DESK, REDIS, SETTINGS
from bot.state.redis import StateError

routes = web.RouteTableDef()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 128
ACTIVE: tuple[Status, ...] = ("open", "claimed")
# Ticket ids are "T" and a number (tickets.py). Checked before any Redis key is built from
# one: "T00001:events" would name the ticket's event stream, and reading that as a ticket
# hash fails with WRONGTYPE, a 503 for what is only a wrong id.
_TICKET_ID = re.compile(r"T[0-9]{1,20}")


def desk_errors(handler: Handler) -> Handler:
    """Map the desk's exceptions to HTTP errors with stable codes."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except TicketNotFoundError as exc:
            return error_response(404, "ticket_not_found", str(exc))
        except TicketConflictError as exc:
            return error_response(409, "conflict", str(exc))
        except TicketForbiddenError as exc:
            return error_response(403, "forbidden", str(exc))
        except DeskError as exc:
            return error_response(409, "desk_error", str(exc))
        except StateError:
            return error_response(
                503, "temporarily_unavailable", "The desk's storage is unavailable; try again."
            )

    wrapped.__doc__ = handler.__doc__
    return wrapped


def _ticket_id(request: web.Request) -> str:
    """The path's ticket id; `TicketNotFoundError` (a 404) when it cannot be one."""
    ticket_id = request.match_info["ticket_id"]
    if not _TICKET_ID.fullmatch(ticket_id):
        raise TicketNotFoundError(f"no ticket {ticket_id}")
    return ticket_id


def _is_utf8(header: str) -> bool:
    # aiohttp hands on header bytes that are not UTF-8 as surrogate escapes, which no Redis
    # key (the key is part of one) can hold.
    try:
        header.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def _ticket_json(request: web.Request, ticket: Ticket) -> dict[str, Any]:
    desk = request.app[DESK]
    position = await desk.tickets.position(ticket.id) if ticket.status == "open" else None
    return {**ticket.to_json(), "position": position}


@routes.get("/desk/api/me")
async def me(request: web.Request) -> web.Response:
    """Who is logged in, and the CSRF token for state-changing requests."""
    actor = request[ACTOR]
    return json_response(
        {"agent": actor.name, "admin": actor.admin, "csrf_token": request.get(CSRF)}
    )


@routes.get("/desk/api/tickets")
@desk_errors
async def list_tickets(request: web.Request) -> web.Response:
    """Tickets, newest first; `?status=open,claimed` (the default) or any of open/claimed/closed."""
    wanted = [s for s in request.query.get("status", "open,claimed").split(",") if s]
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        return error_response(
            422,
            "invalid_status",
            f"Unknown status {', '.join(unknown)}; use open, claimed or closed.",
        )
    statuses: tuple[Status, ...] = tuple(s for s in STATUSES if s in wanted)
    tickets = await request.app[DESK].tickets.find(statuses)
    return json_response({"tickets": [await _ticket_json(request, t) for t in tickets]})


@routes.get("/desk/api/tickets/{ticket_id}")
@desk_errors
async def get_ticket(request: web.Request) -> web.Response:
    """One ticket with its transcript, its events and the state of each delivery."""
    desk = request.app[DESK]
    ticket, events = await desk.thread(_ticket_id(request))
    ids = list(dict.fromkeys(e.data["delivery_id"] for e in events if e.data.get("delivery_id")))
    deliveries = {
        delivery_id: (
            {"status": state.status, "attempts": state.attempts, "error": state.error}
            if state
            else None
        )
        for delivery_id, state in (await desk.outbox.states(ids)).items()
    }
    return json_response(
        {
            "ticket": await _ticket_json(request, ticket),
            "events": [e.to_json() for e in events],
            "deliveries": deliveries,
        }
    )


@routes.post("/desk/api/tickets/{ticket_id}/claim")
@desk_errors
async def claim(request: web.Request) -> web.Response:
    """Take an open ticket."""
    ticket = await request.app[DESK].claim(_ticket_id(request), request[ACTOR])
    return json_response({"ticket": await _ticket_json(request, ticket)})


@routes.post("/desk/api/tickets/{ticket_id}/replies")
@desk_errors
async def reply(request: web.Request) -> web.Response:
    """Send the user a reply: `{"text": ...}`, with an `Idempotency-Key` header."""
    body = await read_json_object(request)
    if isinstance(body, web.Response):
        return body
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        return error_response(422, "empty_text", "The reply text must be a non-empty string.")
    limit = request.app[SETTINGS].max_text_chars
    if len(text) > limit:
        return error_response(
            413, "text_too_long", f"The reply must be at most {limit} characters."
        )
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY and _is_utf8(key)):
        return error_response(
            422,
            "invalid_idempotency_key",
            f"The {IDEMPOTENCY_HEADER} must be 1-128 characters of UTF-8.",
        )
    delivery, new = await request.app[DESK].reply(
        _ticket_id(request), request[ACTOR], text.strip(), key
    )
    return json_response(
        {"delivery_id": delivery.id, "replayed": not new}, status=201 if new else 200
    )


@routes.post("/desk/api/tickets/{ticket_id}/close")
@desk_errors
async def close(request: web.Request) -> web.Response:
    """Close the ticket; the user is told and the bot answers again."""
    ticket = await request.app[DESK].close(_ticket_id(request), request[ACTOR])
    return json_response({"ticket": await _ticket_json(request, ticket)})


@routes.post("/desk/api/tickets/{ticket_id}/deliveries/{delivery_id}/retry")
@desk_errors
async def retry(request: web.Request) -> web.Response:
    """Send a failed delivery again."""
    await request.app[DESK].retry(_ticket_id(request), request.match_info["delivery_id"])
    return json_response(
        {"delivery_id": request.match_info["delivery_id"], "status": "pending"}, 202
    )


@routes.get("/desk/api/events")
async def events(request: web.Request) -> web.StreamResponse:
    """Every ticket event, live, as Server-Sent Events (`event: ticket`)."""

    def render(entry_id: str, fields: dict[str, str]) -> tuple[str, dict[str, Any]]:
        return "ticket", event_from_entry(entry_id, fields).to_json()

    stream = request.app[DESK].tickets.feed_key
    return await sse.subscribe(request, request.app[REDIS], stream, render)
