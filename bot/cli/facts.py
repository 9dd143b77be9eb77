"""`bizbot facts ...`: build, query and inspect the fact store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.facts import FactsError, FactStore, build_index, compose_answer
from bot.facts.answer import citation
from bot.facts.storage import INDEX_NAME

app = typer.Typer(
    help="Build, search and inspect the fact store (seeds/ -> var/facts/index.json).",
    no_args_is_help=True,
)

Seeds = Annotated[Path, typer.Option("--seeds", help="Seed documents and catalog.yml.")]
IndexDir = Annotated[Path, typer.Option("--index", "--out", help="Directory holding index.json.")]


@contextmanager
def _friendly_errors(console: Console) -> Iterator[None]:
    # Library errors are the user's to fix (a bad catalogue, a missing index):
    # one red line and exit code 2, never a traceback.
    try:
        yield
    except FactsError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None


def _load(index_dir: Path) -> FactStore:
    return FactStore.load(index_dir / INDEX_NAME)


@app.command()
def build(
    seeds: Seeds = Path("seeds"),
    out: IndexDir = Path("var/facts"),
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if up to date.")] = False,
) -> None:
    """Build the index from the seeds (only if seeds or fact-store code changed)."""
    console, errors = Console(), Console(stderr=True)
    with _friendly_errors(errors), console.status("Building the fact index…"):
        result = build_index(seeds, out, force=force)
    state = "[green]rebuilt[/green]" if result.rebuilt else "[cyan]up to date[/cyan]"
    console.print(
        f"{state}: {result.facts} facts from {result.documents} documents -> "
        f"{escape(str(result.index_path))} ({result.seconds:.2f} s)"
    )


@app.command()
def search(
    question: Annotated[str, typer.Argument(help="The question, Simplified or Traditional.")],
    topic: Annotated[
        str | None, typer.Option(help="talent | funding | park | permit | industry")
    ] = None,
    region: Annotated[str | None, typer.Option(help="e.g. 嘉定区, 菊园新区, 南湖区")] = None,
    k: Annotated[int, typer.Option("-k", help="How many hits.")] = 3,
    index: IndexDir = Path("var/facts"),
) -> None:
    """Search the facts and show hits, scores, heading paths and citations."""
    console, errors = Console(), Console(stderr=True)
    with _friendly_errors(errors):
        store = _load(index)
        hits = store.search(question, topic=topic, region=region, k=k)
    if not hits:
        console.print("[yellow]Nothing in the sources answers this.[/yellow]")
        return
    table = Table(title=escape(question), show_lines=True)
    for column in ("#", "score", "conf.", "fact", "heading", "text", "source"):
        table.add_column(column, overflow="fold")
    for rank, hit in enumerate(hits, 1):
        fact = hit.fact
        table.add_row(
            str(rank),
            f"{hit.score:.2f}",
            f"{hit.confidence:.2f}",
            fact.id,
            escape(fact.heading),
            escape(fact.text),
            escape(citation(fact).removeprefix("来源：")),
        )
    console.print(table)
    console.print(escape(compose_answer(hits).text))


@app.command()
def show(
    fact_id: Annotated[
        str, typer.Argument(help="A fact id such as nanhu-microelectronics-2023#012.")
    ],
    index: IndexDir = Path("var/facts"),
) -> None:
    """Show every field of one fact, including the original source text."""
    console, errors = Console(), Console(stderr=True)
    with _friendly_errors(errors):
        store = _load(index)
        fact = store.get(fact_id)
        tokens = store.tokens(fact_id)
    table = Table(show_header=False, show_lines=True)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    rows = {
        "id": fact.id,
        "document": fact.doc_id,
        "title": fact.title,
        "publisher": fact.publisher,
        "date": fact.date,
        "doc number": fact.doc_number or "—",
        "line": str(fact.line),
        "heading": fact.heading or "—",
        "region": fact.region,
        "topics": ", ".join(fact.topics) or "—",
        "entities": ", ".join(fact.entities) or "—",
        "numbers": ", ".join(n.text for n in fact.numbers) or "—",
        "note": fact.note or "—",
        "text": fact.text,
        "original": fact.original,
        "tokens": " ".join(tokens),
        "citation": citation(fact),
    }
    for name, value in rows.items():
        table.add_row(name, escape(value))
    console.print(table)


@app.command()
def stats(index: IndexDir = Path("var/facts")) -> None:
    """Counts of facts per document, topic and region."""
    console, errors = Console(), Console(stderr=True)
    with _friendly_errors(errors):
        store = _load(index)
    figures = store.stats()
    titles = {d.id: d.title for d in store.documents}
    console.print(
        f"{figures.facts} facts, {figures.documents} documents, "
        f"{figures.vocabulary} distinct tokens; loaded in {figures.load_seconds * 1000:.0f} ms"
    )
    for heading, counts in (
        ("document", figures.per_document),
        ("topic", figures.per_topic),
        ("region", figures.per_region),
    ):
        table = Table(title=f"facts per {heading}")
        table.add_column(heading, overflow="fold")
        if heading == "document":
            table.add_column("title", overflow="fold")
        table.add_column("facts", justify="right")
        for key, count in counts.items():
            extra = [escape(titles.get(key, ""))] if heading == "document" else []
            table.add_row(escape(key), *extra, str(count))
        console.print(table)
