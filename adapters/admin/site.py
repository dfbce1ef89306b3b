"""The dashboard's routes: sign-in, who sees what, the pages, the CSV and the actions.

Who may look comes from the read model (`DashboardReads.access`): a workspace
admin sees every programme and the circles made by hand, a programme manager
their own programmes, anyone else a page that says so. Figures only: a
circle's page names who is quiet, never what anyone wrote. The two actions
(nudge a circle, message its facilitator) are the core's own `programme`
commands, run as the person signed in, so the core checks their rights
exactly as it does in Slack or Teams, and its answer is shown as plain text.

Pages are rendered on the server with Jinja2 (autoescaping on): a manager
opens them a few times a week, often on a phone, and a page that is whole
when it arrives needs no script, works with one disabled, and leaves the
Content-Security-Policy strict (no script at all). Every POST carries the
session's CSRF token or is refused with 403 before anything happens.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from bot.core import Outcome
from bot.dashboard import Access, DashboardReads, Scope
from bot.events import Actor, CommandIssued, InboundEvent
from bot.messages import plain_text
from bot.people import PersonKey

from . import charts
from .circles_table import COLUMNS, HEALTHS, View, to_csv
from .oidc import Provider, SignInFailed
from .session import Session, Sessions

HERE = Path(__file__).parent
STATIC = HERE / "static"
MESSAGE_LIMIT = 1000  # characters in a message to a facilitator
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Commands(Protocol):
    """The core, as the actions reach it (the playground's runs its deliveries after)."""

    async def handle(self, event: InboundEvent) -> Outcome: ...


SESSION = web.RequestKey("admin_session", Session)  # read once per request
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Viewed = Callable[[web.Request, Session, Access], Awaitable[web.StreamResponse]]


class AdminSite:
    """The mount for `/admin/`. With `personas` (the playground), anyone may sign in as one
    of them; otherwise through `providers`. Without a secret or a way to sign in, every
    page says what to configure."""

    def __init__(
        self,
        *,
        reads: DashboardReads,
        commands: Commands,
        public_url: str,
        secret: str | None,
        admins: frozenset[str] = frozenset(),
        providers: Sequence[Provider] = (),
        personas: Sequence[tuple[PersonKey, str]] = (),
    ) -> None:
        self._reads = reads
        self._commands = commands
        self._public_url = public_url.rstrip("/")
        self._admins = admins
        self._providers = {p.name: p for p in providers}
        self._personas = {key.user: (key, name) for key, name in personas}
        self._sessions = (
            Sessions(secret, secure=public_url.startswith("https://")) if secret else None
        )
        self._ids = itertools.count(1)
        self._templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._templates.globals.update(percent=charts.percent, count=_count)
        self._css = ""

    def missing(self) -> list[str]:
        """What must be configured before anyone can sign in (empty: nothing)."""
        found = []
        if self._sessions is None:
            found.append("ADMIN_SECRET_KEY")
        if not self._providers and not self._personas:
            found.append("sign-in")
        return found

    # --- aiohttp ---------------------------------------------------------------------------

    def mount(self, app: web.Application) -> None:
        static = app.router.add_static("/admin/static", STATIC, append_version=True)
        self._css = str(static.url_for(filename="admin.css"))
        app.on_response_prepare.append(_secure_headers)
        routes: tuple[tuple[str, str, Handler], ...] = (
            ("GET", "/admin", self._to_index),
            ("GET", "/admin/", self._configured(self._viewing(self._index))),
            ("GET", "/admin/sign-in", self._configured(self._sign_in_page)),
            ("POST", "/admin/sign-in/as", self._configured(self._posted(self._sign_in_as))),
            ("GET", "/admin/sign-in/{provider}", self._configured(self._begin)),
            ("GET", "/admin/callback/{provider}", self._configured(self._callback)),
            ("POST", "/admin/sign-out", self._configured(self._posted(self._sign_out))),
            ("GET", "/admin/programmes/{scope}", self._configured(self._viewing(self._programme))),
            (
                "GET",
                "/admin/programmes/{scope}/circles.csv",
                self._configured(self._viewing(self._circles_csv)),
            ),
            ("GET", "/admin/circles/{circle}", self._configured(self._viewing(self._circle))),
            (
                "POST",
                "/admin/circles/{circle}/{action:nudge|message}",
                self._configured(self._posted(self._viewing(self._act))),
            ),
        )
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)

    # --- the gates every page passes -------------------------------------------------------

    def _configured(self, handler: Handler) -> Handler:
        async def gate(request: web.Request) -> web.StreamResponse:
            if self.missing():
                return self._page(
                    "configure.html",
                    status=503,
                    missing=self.missing(),
                    callback=f"{self._public_url}/admin/callback/<provider>",
                )
            return await handler(request)

        return gate

    def _posted(self, handler: Handler) -> Handler:
        """A form's POST: refused with 403, and nothing done, without this session's token."""

        async def gate(request: web.Request) -> web.StreamResponse:
            session = self._session(request)
            form = await request.post()
            if not session.check(form.get("csrf")):
                return self._page(
                    "refused.html",
                    status=403,
                    reason="This form is out of date or did not come from this site. "
                    "Go back, reload the page and try again.",
                )
            return await handler(request)

        return gate

    def _viewing(self, handler: Viewed) -> Handler:
        """Signed in, and an admin or a programme manager; else the sign-in or the 403 page."""

        async def gate(request: web.Request) -> web.StreamResponse:
            session = self._session(request)
            if session.key is None:
                raise web.HTTPSeeOther("/admin/sign-in")
            access = await self._reads.access(session.key, admins=self._admins)
            if access is None:
                return self._page("forbidden.html", session=session, status=403, name=session.name)
            return await handler(request, session, access)

        return gate

    def _session(self, request: web.Request) -> Session:
        if SESSION not in request:
            assert self._sessions is not None  # `_configured` let the request through
            request[SESSION] = self._sessions.read(request)
        return request[SESSION]

    # --- sign-in ---------------------------------------------------------------------------

    async def _to_index(self, _request: web.Request) -> web.StreamResponse:
        raise web.HTTPMovedPermanently("/admin/")

    async def _sign_in_page(
        self, request: web.Request, *, error: str = "", status: int = 200
    ) -> web.StreamResponse:
        session = self._session(request)
        return self._page(
            "sign_in.html",
            session=session,
            status=status,
            error=error,
            providers=list(self._providers.values()),
            personas=[(key.user, name) for key, name in self._personas.values()],
            administering=[n for k, n in self._personas.values() if k.user in self._admins],
        )

    async def _sign_in_as(self, request: web.Request) -> web.StreamResponse:
        """The playground's "sign in as": one of its personas, no password."""
        user = (await request.post()).get("user")
        if not isinstance(user, str) or user not in self._personas:
            return await self._sign_in_page(
                request, error="Choose one of the playground's people.", status=400
            )
        key, name = self._personas[user]
        return self._signed_in(request, key, name)

    async def _begin(self, request: web.Request) -> web.StreamResponse:
        provider = self._providers.get(request.match_info["provider"])
        if provider is None:
            raise web.HTTPNotFound()
        url, kept = await provider.begin(redirect_uri=self._callback_uri(provider))
        session = self._session(request)
        session.kept[provider.name] = kept
        response = web.HTTPSeeOther(url)
        self._save(response, session)
        raise response

    async def _callback(self, request: web.Request) -> web.StreamResponse:
        provider = self._providers.get(request.match_info["provider"])
        if provider is None:
            raise web.HTTPNotFound()
        session = self._session(request)
        kept = session.kept.pop(provider.name, None)
        if kept is None:
            return await self._sign_in_page(
                request, error="That sign-in was not started here: try again.", status=400
            )
        try:
            identity = await provider.finish(
                redirect_uri=self._callback_uri(provider), query=request.query, kept=kept
            )
        except SignInFailed as failed:
            return await self._sign_in_page(
                request, error=f"{provider.label} did not sign you in: {failed}", status=401
            )
        return self._signed_in(request, identity.key, identity.name)

    def _signed_in(self, request: web.Request, key: PersonKey, name: str) -> web.StreamResponse:
        """A fresh session for the person (a new CSRF token: nothing carries over)."""
        session = Session(csrf=secrets.token_urlsafe(32), key=key, name=name)
        request[SESSION] = session
        response = web.HTTPSeeOther("/admin/")
        self._save(response, session)
        raise response

    async def _sign_out(self, request: web.Request) -> web.StreamResponse:
        response = web.HTTPSeeOther("/admin/sign-in")
        self._save(response, Session(csrf=secrets.token_urlsafe(32)))
        raise response

    def _callback_uri(self, provider: Provider) -> str:
        return f"{self._public_url}/admin/callback/{provider.name}"

    # --- pages -----------------------------------------------------------------------------

    async def _index(
        self, _request: web.Request, session: Session, access: Access
    ) -> web.StreamResponse:
        lines = await self._reads.programmes(access)
        return self._page("programmes.html", session=session, access=access, lines=lines)

    async def _programme(
        self, request: web.Request, session: Session, access: Access
    ) -> web.StreamResponse:
        page = await self._reads.programme(access, self._scope(request, access))
        if page is None:
            raise web.HTTPNotFound()
        view = View.from_query(request.query)
        scope = request.match_info["scope"]
        return self._page(
            "programme.html",
            session=session,
            access=access,
            page=page,
            scope=scope,
            view=view,
            rows=view.apply(page.circles),
            columns=COLUMNS,
            healths=HEALTHS,
            link=lambda **changes: "?" + urlencode(view.params(**changes)),
            csv=f"/admin/programmes/{scope}/circles.csv?{urlencode(view.params())}",
            funnel=charts.funnel_chart(page.funnel) if page.funnel else None,
            trends=charts.trends_chart(page.trends, title="Trends per session")
            if page.trends
            else None,
            capabilities=charts.capability_chart(page.capabilities) if page.capabilities else None,
        )

    async def _circles_csv(
        self, request: web.Request, _session: Session, access: Access
    ) -> web.StreamResponse:
        page = await self._reads.programme(access, self._scope(request, access))
        if page is None:
            raise web.HTTPNotFound()
        rows = View.from_query(request.query).apply(page.circles)
        filename = _filename(page.line.name)
        return web.Response(
            text=to_csv(rows),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}-circles.csv"'},
        )

    async def _circle(
        self, request: web.Request, session: Session, access: Access
    ) -> web.StreamResponse:
        page = await self._reads.circle(access, _number(request.match_info["circle"]))
        if page is None:
            raise web.HTTPNotFound()
        flash, session.flash = session.flash, ""
        lines = await self._reads.programmes(access)
        return self._page(
            "circle.html",
            session=session,
            access=access,
            page=page,
            flash=flash,
            programme=next((line.name for line in lines if line.scope == page.scope), ""),
            scope="none" if page.scope.programme_id is None else str(page.scope.programme_id),
            sessions=charts.trends_chart(page.sessions, title="Sessions")
            if page.sessions
            else None,
        )

    async def _act(
        self, request: web.Request, session: Session, access: Access
    ) -> web.StreamResponse:
        """Nudge the circle, or message its facilitator: the core's command, as this person."""
        circle_id = _number(request.match_info["circle"])
        page = await self._reads.circle(access, circle_id)
        if page is None:
            raise web.HTTPNotFound()
        name = page.figures.name
        if request.match_info["action"] == "nudge":
            text = f"programme nudge {name}"
        else:
            message = str((await request.post()).get("text", "")).strip()
            if not message or len(message) > MESSAGE_LIMIT:
                session.flash = f"Write a message of 1 to {MESSAGE_LIMIT:,} characters."
                return self._back(session, circle_id)
            text = f"programme message {name} {message}"
        outcome = await self._commands.handle(
            CommandIssued(
                id=f"admin-{secrets.token_hex(8)}-{next(self._ids)}",
                actor=Actor(key=access.key, name=access.name),
                text=text,
                inline=True,
            )
        )
        session.flash = plain_text(outcome.answer) or "Done."
        return self._back(session, circle_id)

    def _back(self, session: Session, circle_id: int) -> web.StreamResponse:
        response = web.HTTPSeeOther(f"/admin/circles/{circle_id}")
        self._save(response, session)
        raise response

    def _scope(self, request: web.Request, access: Access) -> Scope:
        """`none` is the circles made by hand; anything else a programme's id."""
        raw = request.match_info["scope"]
        programme_id = None if raw == "none" else _number(raw)
        return Scope(access.key.platform, access.key.workspace, programme_id)

    # --- rendering -------------------------------------------------------------------------

    def _page(
        self, template: str, *, status: int = 200, session: Session | None = None, **values: Any
    ) -> web.Response:
        html = self._templates.get_template(template).render(
            css=self._css, session=session, playground=bool(self._personas), **values
        )
        response = web.Response(text=html, content_type="text/html", status=status)
        if session is not None:
            self._save(response, session)  # a new visitor's CSRF token, or a flash shown
        return response

    def _save(self, response: web.StreamResponse, session: Session) -> None:
        assert self._sessions is not None
        self._sessions.write(response, session)


async def _secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path == "/admin" or request.path.startswith("/admin/"):
        response.headers.update(HEADERS)


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def _number(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 12:
        raise web.HTTPNotFound()
    return int(raw)


def _filename(name: str) -> str:
    """A programme's name as a safe file name: letters, digits and dashes."""
    kept = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in name.lower())
    return "-".join(part for part in kept.split("-") if part) or "programme"
