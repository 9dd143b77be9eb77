"""`bizbot`: the command line, a thin shell over the library."""

from __future__ import annotations

import typer

from bot.cli import desk, facts, faq, rasa, stack, unanswered

app = typer.Typer(
    help="bizbot: a cited-answers business-environment chatbot.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(facts.app, name="facts", help="Build and query the fact store.")
app.add_typer(rasa.app, name="rasa", help="Generate Rasa training data.")
app.add_typer(desk.app, name="desk", help="Service-desk tools: agent tokens.")
app.add_typer(unanswered.app, name="unanswered", help="List and export unanswered questions.")
stack.register(app)
faq.register(app)
