"""The desk's exceptions: one root, grouped by what the caller should tell the agent."""

from __future__ import annotations


class DeskError(Exception):
    """Base class for every service-desk failure."""


class DeskDisabledError(DeskError):
    """No agents are configured, so there is no desk to hand over to."""


class TicketNotFoundError(DeskError):
    """No ticket has that id (or it expired)."""


class TicketConflictError(DeskError):
    """The ticket is not in a state that allows the action (already claimed or closed)."""


class TicketForbiddenError(DeskError):
    """The agent may not act on this ticket (another agent's, and not an admin)."""


class DeliveryError(DeskError):
    """A message could not be delivered to the user's channel."""


class DeliveryRetryableError(DeliveryError):
    """The channel failed in a way worth retrying (network, rate limit, restart)."""


class DeliveryRejectedError(DeliveryError):
    """The channel refused the message for good (user blocked the bot, chat gone)."""
