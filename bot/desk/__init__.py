"""The service desk: tickets, the agents' console and API, delivery, unanswered questions."""
