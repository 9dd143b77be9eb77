"""The desk console: one static page that talks to the desk API (`bot/desk/api.py`)."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

routes = web.RouteTableDef()
STATIC = resources.files("bot.desk") / "static"
# The page loads nothing from elsewhere and runs only its own inline script.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)


@routes.get("/desk")
async def console(_: web.Request) -> web.Response:
    """Serve the console page (it asks for a token when there is no session)."""
    response = web.Response(
        text=(STATIC / "console.html").read_text("utf-8"),
        content_type="text/html",
        charset="utf-8",
    )
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response
