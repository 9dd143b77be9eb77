"""The intent confusion matrix as a PNG (matplotlib, no display needed)."""

from __future__ import annotations

import io
import warnings

from bot.faqtest.summary import Summary


def confusion_png(summary: Summary) -> bytes | None:
    """Expected (rows) vs predicted (columns) intents over the turns declaring `intent`.

    None when no turn declares one. Uses `Figure` directly rather than pyplot, so no GUI
    backend or global state is involved (the same effect as `matplotlib.use("Agg")`).
    """
    labels = summary.intent_labels
    if not labels:
        return None
    from matplotlib.figure import Figure  # imported here: slow, and needed only for --html

    index = {label: i for i, label in enumerate(labels)}
    grid = [[0] * len(labels) for _ in labels]
    for (want, got), count in summary.confusion.items():
        grid[index[want]][index[got]] = count
    size = 2.5 + 0.55 * len(labels)
    fig = Figure(figsize=(size + 1.5, size), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(grid, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted intent")
    ax.set_ylabel("expected intent")
    ax.set_title("Intent confusion (turns declaring `intent`)")
    peak = max(max(row) for row in grid) or 1
    for r, row in enumerate(grid):
        for c, count in enumerate(row):
            if count:
                colour = "white" if count > peak / 2 else "black"
                ax.text(c, r, str(count), ha="center", va="center", color=colour)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # A bot could return a non-ASCII intent name; a missing glyph is cosmetic, not fatal.
        warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
        fig.savefig(buf, format="png")
    return buf.getvalue()
