"""A Slack Web API on loopback that records every call and answers like Slack.

Like bolt-python's `tests/mock_web_api_server/` and opsdroid's
`external_api.py`: a real aiohttp server, so the SDK, its retries and our
error handling run exactly as in production. It keeps channels and threads
(`ts` values like `1700000000.000100`), opens a DM channel (`D…`) for a
user id, validates Block Kit limits (50 blocks, 3,000 characters per
section, 255-character action ids) the way Slack does (`invalid_blocks`),
and can be told to fail: an `ok: false` error, a 429 with `Retry-After`, a
5xx. It keeps each message's metadata and answers `conversations.history`
and `conversations.replies` with it, and can leave `chat.postMessage` to a
channel hanging (the message posted, the answer never sent). It also serves
the file-upload URL, `response_url`s, the OAuth token
exchange and a Socket Mode websocket. For programmes it keeps channels' members
(`rosters`), creates private channels (`name_taken` on a name in use, checked
like Slack's names), invites to them, lists members in pages and opens group
DMs; each of these answers `missing_scope` (naming the scope) when `scopes`
lacks it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

FIXTURES = Path(__file__).parent / "fixtures"
TEAM = "T0ACME"
BOT_USER = "U0BOT"
BOT_ID = "B0BOT"
BOT_TOKEN = "xoxb-test-token"
SCOPES = (
    "app_mentions:read,channels:history,channels:read,chat:write,commands,files:write,"
    "groups:history,groups:read,groups:write,im:history,mpim:history,mpim:write,users:read"
)


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None


@dataclass
class Posted:
    """A message in a channel, as Slack would hold it."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    user: str | None = BOT_USER
    edits: int = 0
    replies: list[Posted] = field(default_factory=list)
    metadata: dict[str, Any] | None = None

    def buttons(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for block in self.blocks:
            if block.get("type") == "actions":
                found.extend(block["elements"])
            if isinstance(block.get("accessory"), dict) and block["accessory"]["type"] == "button":
                found.append(block["accessory"])
        return found

    def button(self, label: str) -> dict[str, Any]:
        for button in self.buttons():
            if button["text"]["text"] == label:
                return button
        raise LookupError(f"no button {label!r} in {[b['text']['text'] for b in self.buttons()]}")

    @property
    def mrkdwn(self) -> str:
        """Every text of the blocks, as Slack would render them (mrkdwn source)."""
        return "\n".join(_texts(self.blocks))


def _texts(blocks: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
        for item in block.get("fields") or ():
            out.append(item["text"])
        for element in block.get("elements") or ():
            if element.get("type") in ("mrkdwn", "plain_text"):
                out.append(element["text"])
            elif isinstance(element.get("text"), dict):
                out.append(element["text"]["text"])
    return out


@dataclass
class _Failure:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    after: int = 0  # calls that still succeed before this failure


class FakeSlack:
    def __init__(self) -> None:
        users = json.loads((FIXTURES / "users.json").read_text())
        self.users: dict[str, dict[str, Any]] = {u["id"]: u for u in users}
        self.calls: list[Call] = []
        self.tokens = {BOT_TOKEN}
        self.scopes = SCOPES  # what auth.test reports in X-OAuth-Scopes
        self.channels: dict[str, list[Posted]] = {}
        self.member_of: set[str] = set()  # channels the bot is in
        self.archived: set[str] = set()
        self.responses: list[dict[str, Any]] = []  # bodies POSTed to response_urls
        self.uploads: dict[str, bytes] = {}
        self.opened: list[dict[str, Any]] = []  # modals, as views.open received them
        self.published: dict[str, dict[str, Any]] = {}  # App Home views, by user
        self.ephemeral: list[dict[str, Any]] = []  # chat.postEphemeral calls, as received
        self._by_ts: dict[tuple[str, str], Posted] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._clock = itertools.count(1)
        self._ids = itertools.count(1)
        self._socket: web.WebSocketResponse | None = None
        self._socket_ready = asyncio.Event()
        self.hanging: set[str] = set()  # channels whose chat.postMessage never answers
        self._hung = asyncio.Event()  # set at close, to let hanging requests end
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.rosters: dict[str, list[str]] = {}  # channel -> its members' ids, for programmes
        self.names: dict[str, str] = {}  # channel id -> name
        self.private: set[str] = set()
        self.page = 2  # conversations.members answers at most this many a page (Slack may)
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file}", self._upload)
        app.router.add_post("/respond/{hook}", self._respond)
        app.router.add_get("/socket", self._websocket)
        self._server = TestServer(app, host="127.0.0.1")

    async def start(self) -> None:
        await self._server.start_server()

    async def close(self) -> None:
        self.release()
        if self._socket is not None:
            await self._socket.close()
        await self._server.close()

    @property
    def url(self) -> str:
        return str(self._server.make_url("/"))

    @property
    def api_url(self) -> str:
        return str(self._server.make_url("/api/"))

    def response_url(self, name: str = "1") -> str:
        return str(self._server.make_url(f"/respond/{name}"))

    # --- steering --------------------------------------------------------------------------

    def join(self, channel: str) -> None:
        """The bot is a member of `channel` (it was invited)."""
        self.member_of.add(channel)
        self.channels.setdefault(channel, [])

    def hang(self, channel: str) -> None:
        """`chat.postMessage` to `channel` posts the message, then never answers."""
        self.hanging.add(channel)
        self._hung.clear()

    def release(self) -> None:
        """Hanging requests answer at last, and no channel hangs any more."""
        self.hanging.clear()
        self._hung.set()

    def fail(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """The next `times` calls of `method` fail this way (after `after` more succeed)."""
        for n in range(times):
            failure = _Failure(status, error, retry_after, after if n == 0 else 0)
            self._failures.setdefault(method, []).append(failure)

    # --- reading what happened ------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def top(self, channel: str) -> list[Posted]:
        return [p for p in self.channels.get(channel, []) if p.thread_ts is None]

    def message(self, channel: str, ts: str) -> Posted:
        return self._by_ts[(channel, ts)]

    def thread(self, channel: str, ts: str) -> list[Posted]:
        return self._by_ts[(channel, ts)].replies

    def dm_channel(self, user: str) -> str:
        return "D" + user[1:]

    def dms(self, user: str) -> list[Posted]:
        return self.channels.get(self.dm_channel(user), [])

    def ts(self) -> str:
        return f"{1700000000 + next(self._clock)}.000100"

    # --- the Web API ------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args.update(await request.json())
        elif request.can_read_body:
            args.update(await request.post())
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.get("token")
        self.calls.append(Call(method, args, token))
        failures = self._failures.get(method)
        if failures and failures[0].after:
            failures[0].after -= 1
        elif failures:
            failure = failures.pop(0)
            if failure.status >= 500:
                return web.Response(status=failure.status, text="upstream connect error")
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            return web.json_response(
                {"ok": False, "error": failure.error or "ratelimited"},
                status=failure.status,
                headers=headers,
            )
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return _error("unknown_method")
        if method not in ("oauth.v2.access", "apps.connections.open") and token not in self.tokens:
            return _error("invalid_auth")
        answer: web.StreamResponse = await handler(args)
        return answer

    async def _auth_test(self, _args: dict[str, Any]) -> web.Response:
        return web.json_response(
            {
                "ok": True,
                "url": "https://acme.slack.com/",
                "team": "Acme",
                "user": "circles",
                "team_id": TEAM,
                "user_id": BOT_USER,
                "bot_id": BOT_ID,
            },
            headers={"x-oauth-scopes": self.scopes},
        )

    def _where(self, channel: str) -> str | web.Response:
        if channel[:1] in ("U", "W"):
            user = self.users.get(channel)
            if user is None:
                return _error("channel_not_found")
            if user.get("deleted"):
                return _error("user_disabled")
            dm = self.dm_channel(channel)
            self.channels.setdefault(dm, [])
            return dm
        if channel.startswith("D"):
            return channel if channel in self.channels else _error("channel_not_found")
        if channel in self.archived:
            return _error("is_archived")
        if channel not in self.channels:
            return _error("channel_not_found")
        if channel not in self.member_of:
            return _error("not_in_channel")
        return channel

    async def _chat_postMessage(self, args: dict[str, Any]) -> web.Response:
        where = self._where(str(args.get("channel", "")))
        if isinstance(where, web.Response):
            return where
        blocks = _blocks(args.get("blocks"))
        if (problem := _invalid(blocks)) is not None:
            return _error("invalid_blocks", detail=problem)
        thread = args.get("thread_ts") or None
        posted = Posted(
            channel=where,
            ts=self.ts(),
            text=str(args.get("text", "")),
            blocks=blocks,
            thread_ts=thread,
            metadata=_json(args.get("metadata")) or None,
        )
        self._by_ts[(where, posted.ts)] = posted
        self.channels[where].append(posted)
        if thread is not None:
            root = self._by_ts.get((where, thread))
            if root is not None:
                root.replies.append(posted)
        if where in self.hanging:
            await self._hung.wait()  # posted, but the answer never comes back
        return web.json_response(
            {"ok": True, "channel": where, "ts": posted.ts, "message": {"text": posted.text}}
        )

    async def _chat_update(self, args: dict[str, Any]) -> web.Response:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        if channel[:1] in ("U", "W"):
            return _error("channel_not_found")
        posted = self._by_ts.get((channel, ts))
        if posted is None:
            return _error("message_not_found")
        blocks = _blocks(args.get("blocks"))
        if (problem := _invalid(blocks)) is not None:
            return _error("invalid_blocks", detail=problem)
        posted.text, posted.blocks, posted.edits = (
            str(args.get("text", "")),
            blocks,
            posted.edits + 1,
        )
        return web.json_response({"ok": True, "channel": channel, "ts": ts})

    # --- reading history, with metadata (exactly-once delivery looks here) -------------------

    async def _conversations_history(self, args: dict[str, Any]) -> web.Response:
        channel = str(args.get("channel", ""))
        if channel not in self.channels:
            return _error("channel_not_found")
        newest_first = self.top(channel)[::-1][: int(args.get("limit") or 100)]
        return _messages(newest_first, args)

    async def _conversations_replies(self, args: dict[str, Any]) -> web.Response:
        root = self._by_ts.get((str(args.get("channel", "")), str(args.get("ts", ""))))
        if root is None:
            return _error("thread_not_found")
        return _messages([root, *root.replies][: int(args.get("limit") or 1000)], args)

    async def _users_info(self, args: dict[str, Any]) -> web.Response:
        user = self.users.get(str(args.get("user", "")))
        if user is None:
            return _error("user_not_found")
        return web.json_response({"ok": True, "user": user})

    async def _chat_postEphemeral(self, args: dict[str, Any]) -> web.Response:
        where = self._where(str(args.get("channel", "")))
        if isinstance(where, web.Response):
            return where
        self.ephemeral.append(args)
        return web.json_response({"ok": True, "message_ts": self.ts()})

    async def _views_open(self, args: dict[str, Any]) -> web.Response:
        if not args.get("trigger_id"):
            return _error("invalid_trigger_id")
        view = {**_json(args.get("view")), "id": f"V{next(self._ids):04d}"}
        self.opened.append(view)
        return web.json_response({"ok": True, "view": view})

    async def _views_publish(self, args: dict[str, Any]) -> web.Response:
        view = _json(args.get("view"))
        self.published[str(args.get("user_id"))] = view
        if len(view.get("blocks", [])) > 100:
            return _error("invalid_blocks")
        return web.json_response({"ok": True, "view": view})

    async def _files_getUploadURLExternal(self, args: dict[str, Any]) -> web.Response:
        file_id = f"F{next(self._ids):04d}"
        return web.json_response(
            {
                "ok": True,
                "file_id": file_id,
                "upload_url": str(self._server.make_url(f"/upload/{file_id}")),
            }
        )

    async def _files_completeUploadExternal(self, args: dict[str, Any]) -> web.Response:
        files = _json(args.get("files"))
        return web.json_response(
            {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        )

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file"]] = await request.read()
        return web.Response(text="OK - 1", content_type="text/plain")

    async def _respond(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.Response(text="ok")

    async def _oauth_v2_access(self, args: dict[str, Any]) -> web.Response:
        if args.get("code") != "good-code":
            return _error("invalid_code")
        answer = json.loads((FIXTURES / "oauth_v2_access.json").read_text())
        self.tokens.add(answer["access_token"])
        return web.json_response(answer)

    async def _apps_connections_open(self, _args: dict[str, Any]) -> web.Response:
        url = str(self._server.make_url("/socket")).replace("http://", "ws://")
        return web.json_response({"ok": True, "url": url})

    # --- Socket Mode --------------------------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._socket = socket
        await socket.send_json({"type": "hello", "num_connections": 1})
        self._socket_ready.set()
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                future = self._acks.get(data.get("envelope_id", ""))
                if future is not None and not future.done():
                    future.set_result(data)
        return socket

    async def socket_send(self, envelope: Mapping[str, Any]) -> dict[str, Any]:
        """Push an envelope to the connected app; returns its acknowledgement."""
        await self._socket_ready.wait()
        assert self._socket is not None
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[str(envelope["envelope_id"])] = future
        await self._socket.send_json(dict(envelope))
        return await asyncio.wait_for(future, timeout=10)

    # --- channels for programmes: members, private channels, group DMs ----------------------

    def channel(self, name: str, members: list[str], *, private: bool = False) -> str:
        """A channel that exists in the workspace, with these members (the bot only if listed)."""
        channel = f"C{next(self._ids):04d}{name.upper()[:6]}"
        self.names[channel], self.rosters[channel] = name, list(members)
        self.channels.setdefault(channel, [])
        if BOT_USER in members:
            self.member_of.add(channel)
        if private:
            self.private.add(channel)
        return channel

    def _lacks(self, scope: str) -> web.Response | None:
        if scope in self.scopes.split(","):
            return None
        return _error("missing_scope", needed=scope, provided=self.scopes)

    async def _conversations_members(self, args: dict[str, Any]) -> web.Response:
        channel = str(args.get("channel", ""))
        private = channel in self.private or channel.startswith("G")
        if (lacking := self._lacks("groups:read" if private else "channels:read")) is not None:
            return lacking
        if channel not in self.rosters or (private and channel not in self.member_of):
            return _error("channel_not_found")  # Slack's answer for a channel the bot can't see
        start = int(args.get("cursor") or 0)
        limit = min(int(args.get("limit") or 100), self.page)
        members = self.rosters[channel][start : start + limit]
        following = start + limit if start + limit < len(self.rosters[channel]) else ""
        return web.json_response(
            {
                "ok": True,
                "members": members,
                "response_metadata": {"next_cursor": str(following)},
            }
        )

    async def _conversations_list(self, args: dict[str, Any]) -> web.Response:
        if (lacking := self._lacks("channels:read")) is not None:
            return lacking
        seen = [
            {"id": c, "name": name, "is_private": c in self.private}
            for c, name in self.names.items()
            if c not in self.private or c in self.member_of
        ]
        start = int(args.get("cursor") or 0)
        limit = min(int(args.get("limit") or 100), self.page)
        following = start + limit if start + limit < len(seen) else ""
        return web.json_response(
            {
                "ok": True,
                "channels": seen[start : start + limit],
                "response_metadata": {"next_cursor": str(following)},
            }
        )

    async def _conversations_create(self, args: dict[str, Any]) -> web.Response:
        if (lacking := self._lacks("groups:write")) is not None:
            return lacking
        name = str(args.get("name", ""))
        if not name or len(name) > 80:
            return _error("invalid_name_maxlength" if name else "invalid_name_required")
        if any(not (c.islower() or c.isdigit() or c in "-_") for c in name):
            return _error("invalid_name_specials")
        if name in self.names.values():
            return _error("name_taken")
        channel = self.channel(
            name, [BOT_USER], private=str(args.get("is_private")) in ("1", "true", "True")
        )
        return web.json_response(
            {
                "ok": True,
                "channel": {"id": channel, "name": name, "is_private": channel in self.private},
            }
        )

    async def _conversations_invite(self, args: dict[str, Any]) -> web.Response:
        if (lacking := self._lacks("groups:write")) is not None:
            return lacking
        channel = str(args.get("channel", ""))
        if channel not in self.rosters:
            return _error("channel_not_found")
        if channel not in self.member_of:
            return _error("not_in_channel")
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users or any(u not in self.users for u in users):
            return _error("user_not_found")
        self.rosters[channel] += [u for u in users if u not in self.rosters[channel]]
        return web.json_response({"ok": True, "channel": {"id": channel}})

    async def _conversations_open(self, args: dict[str, Any]) -> web.Response:
        users = sorted(u for u in str(args.get("users", "")).split(",") if u)
        if len(users) < 2:
            return _error("not_implemented")  # a DM: the messenger posts to user ids instead
        if (lacking := self._lacks("mpim:write")) is not None:
            return lacking
        if any(u not in self.users for u in users):
            return _error("user_not_found")
        mpim = "G" + "".join(u.removeprefix("U0") for u in users)
        if mpim not in self.rosters:
            self.rosters[mpim] = [BOT_USER, *users]
            self.private.add(mpim)
            self.join(mpim)
        return web.json_response({"ok": True, "channel": {"id": mpim}})


def _messages(posted: list[Posted], args: dict[str, Any]) -> web.Response:
    """Messages as Slack lists them; metadata only when asked for, as Slack does."""
    with_metadata = str(args.get("include_all_metadata")).lower() in ("1", "true")
    messages = []
    for p in posted:
        message: dict[str, Any] = {"type": "message", "ts": p.ts, "text": p.text, "user": p.user}
        if p.thread_ts is not None:
            message["thread_ts"] = p.thread_ts
        if with_metadata and p.metadata:
            message["metadata"] = p.metadata
        messages.append(message)
    return web.json_response({"ok": True, "messages": messages, "has_more": False})


def _error(code: str, **extra: Any) -> web.Response:
    return web.json_response({"ok": False, "error": code, **extra})


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value or {}


def _blocks(value: Any) -> list[dict[str, Any]]:
    blocks = _json(value)
    return list(blocks) if isinstance(blocks, list) else []


def _invalid(blocks: list[dict[str, Any]]) -> str | None:
    """What Slack would refuse in these blocks, or None."""
    if len(blocks) > 50:
        return "more than 50 blocks"
    ids: set[str] = set()
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            if not text.get("text"):
                return "empty text"
            limit = 150 if block["type"] == "header" else 3000
            if len(text["text"]) > limit:
                return f"{block['type']} text over {limit}"
        for item in block.get("fields") or ():
            if len(item["text"]) > 2000:
                return "field over 2000"
        elements = list(block.get("elements") or ())
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        if block["type"] == "actions" and len(elements) > 25:
            return "more than 25 elements"
        for element in elements:
            if element.get("type") == "button":
                if len(element["text"]["text"]) > 75:
                    return "button text over 75"
                if len(element["action_id"]) > 255:
                    return "action_id over 255"
                if element["action_id"] in ids:
                    return "duplicate action_id"
                ids.add(element["action_id"])
            elif element.get("type") == "mrkdwn" and len(element["text"]) > 3000:
                return "context text over 3000"
    return None
