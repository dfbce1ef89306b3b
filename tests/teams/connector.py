"""A fake Bot Connector on loopback: what the bot sends to Teams lands here.

Like bolt-python's mock Web API server and opsdroid's external API: a real
aiohttp server speaking the Bot Connector REST API (`/v3/conversations`:
create a conversation or a channel thread, send to a conversation, reply to
an activity, update an activity, get a member, page through a roster), recording every request and
keeping what was posted as Teams would show it: channels with their threads,
and chats. `fail_next` scripts failures (429 with Retry-After, 403, …).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

THREAD = ";messageid="


def personal_chat(user: str) -> str:
    """The id of a person's 1:1 chat with the bot (Teams keeps one per person and bot)."""
    return f"a:1chat-{user.removeprefix('29:')}"


@dataclass
class Post:
    """A message the bot posted, as it stands now (edits applied)."""

    id: str
    conversation: str  # a channel id or a chat id
    activity: dict[str, Any]
    thread: str | None = None  # the root's id, for a reply in a channel thread
    replies: list[Post] = field(default_factory=list)
    edits: int = 0

    @property
    def text(self) -> str:
        """The plain-text fallback Teams shows in notifications."""
        return str(self.activity.get("summary") or self.activity.get("text") or "")

    @property
    def card(self) -> dict[str, Any]:
        (attachment,) = self.activity["attachments"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        content: dict[str, Any] = attachment["content"]
        return content


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    authorization: str | None
    body: Any


@dataclass(frozen=True)
class Failure:
    status: int
    retry_after: str | None
    code: str


class FakeConnector:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.channels: dict[str, list[Post]] = {}  # channel id -> thread roots, oldest first
        self.chats: dict[str, list[Post]] = {}  # chat id -> messages, oldest first
        self.chat_of: dict[str, str] = {}  # user id -> their 1:1 chat id with the bot
        self.people: dict[str, dict[str, str]] = {}  # user id -> how Teams describes them
        self.posts: dict[str, Post] = {}
        self.rosters: dict[str, list[str]] = {}  # conversation id -> its members' user ids
        self.page = 2  # roster members a page, at most (Teams takes pageSize as a hint)
        self._failures: list[Failure] = []
        self._ids = (str(n) for n in itertools.count(1763712000000, 1117))
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._reply)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        app.router.add_get("/v3/conversations/{conversation}/members/{member}", self._member)
        app.router.add_get("/v3/conversations/{conversation}/pagedmembers", self._paged_members)
        self._server = TestServer(app, host="127.0.0.1")

    async def start(self) -> str:
        await self._server.start_server()
        return str(self._server.make_url("/"))

    async def close(self) -> None:
        await self._server.close()

    def fail_next(
        self, status: int, *, retry_after: str | None = None, code: str = "Failure", times: int = 1
    ) -> None:
        """The next `times` requests fail with `status` (and a Retry-After header, if given)."""
        self._failures.extend([Failure(status, retry_after, code)] * times)

    def open_chat(self, user: str) -> str:
        """The person's 1:1 chat with the bot, which exists once they have written in it."""
        chat = self.chat_of.setdefault(user, personal_chat(user))
        self.chats.setdefault(chat, [])
        return chat

    def open_group_chat(self, chat: str) -> str:
        """A group chat the bot was added to."""
        self.chats.setdefault(chat, [])
        return chat

    # --- what people see ----------------------------------------------------------------

    def dm(self, user: str) -> list[Post]:
        """The bot's messages in this person's 1:1 chat, oldest first."""
        chat = self.chat_of.get(user)
        return self.chats.get(chat, []) if chat else []

    def dm_texts(self, user: str) -> list[str]:
        return [post.text for post in self.dm(user)]

    def roots(self, channel: str) -> list[Post]:
        return self.channels.get(channel, [])

    # --- the REST API -------------------------------------------------------------------

    async def _record(self, request: web.Request) -> web.Response | None:
        body = await request.json() if request.can_read_body else None
        self.requests.append(
            Request(request.method, request.path, request.headers.get("Authorization"), body)
        )
        if self._failures:
            failure = self._failures.pop(0)
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            return web.json_response(
                {"error": {"code": failure.code, "message": "scripted failure"}},
                status=failure.status,
                headers=headers,
            )
        return None

    async def _create(self, request: web.Request) -> web.Response:
        if (failed := await self._record(request)) is not None:
            return failed
        body = self.requests[-1].body
        channel = (body.get("channelData") or {}).get("channel", {}).get("id")
        if body.get("isGroup") and channel:
            post = self._post(channel, body["activity"])
            self.channels.setdefault(channel, []).append(post)
            return web.json_response(
                {"id": f"{channel}{THREAD}{post.id}", "activityId": post.id}, status=201
            )
        (member,) = body["members"]
        return web.json_response({"id": self.open_chat(member["id"])}, status=201)

    async def _send(self, request: web.Request) -> web.Response:
        if (failed := await self._record(request)) is not None:
            return failed
        conversation = request.match_info["conversation"]
        return self._deliver(conversation, self.requests[-1].body, reply_to=None)

    async def _reply(self, request: web.Request) -> web.Response:
        if (failed := await self._record(request)) is not None:
            return failed
        conversation = request.match_info["conversation"]
        return self._deliver(
            conversation, self.requests[-1].body, reply_to=request.match_info["activity"]
        )

    async def _update(self, request: web.Request) -> web.Response:
        if (failed := await self._record(request)) is not None:
            return failed
        post = self.posts.get(request.match_info["activity"])
        if post is None:
            return web.json_response({"error": {"code": "NotFound"}}, status=404)
        post.activity = self.requests[-1].body
        post.edits += 1
        return web.json_response({"id": post.id})

    async def _member(self, request: web.Request) -> web.Response:
        if (failed := await self._record(request)) is not None:
            return failed
        member = self.people.get(request.match_info["member"])
        if member is None:
            return web.json_response(
                {"error": {"code": "MemberNotFoundInConversation"}}, status=404
            )
        return web.json_response(member)

    async def _paged_members(self, request: web.Request) -> web.Response:
        if (failed := await self._record(request)) is not None:
            return failed
        roster = self.rosters.get(request.match_info["conversation"])
        if roster is None:
            return web.json_response({"error": {"code": "ConversationNotFound"}}, status=404)
        start = int(request.query.get("continuationToken") or 0)
        end = start + min(int(request.query.get("pageSize") or 100), self.page)
        page: dict[str, Any] = {
            "members": [self.people.get(u, {"id": u, "name": "Bot"}) for u in roster[start:end]]
        }
        if end < len(roster):
            page["continuationToken"] = str(end)
        return web.json_response(page)

    def _deliver(
        self, conversation: str, activity: dict[str, Any], *, reply_to: str | None
    ) -> web.Response:
        channel, _, root = conversation.partition(THREAD)
        if not root and reply_to is not None and channel in self.channels:
            root = reply_to
        if root:
            parent = self.posts.get(root)
            if parent is None:
                return web.json_response({"error": {"code": "NotFound"}}, status=404)
            post = self._post(channel, activity, thread=root)
            parent.replies.append(post)
        elif conversation in self.chats:
            post = self._post(conversation, activity)
            self.chats[conversation].append(post)
        else:
            return web.json_response({"error": {"code": "ConversationNotFound"}}, status=404)
        return web.json_response({"id": post.id}, status=201)

    def _post(self, conversation: str, activity: dict[str, Any], thread: str | None = None) -> Post:
        post = Post(id=next(self._ids), conversation=conversation, activity=activity, thread=thread)
        self.posts[post.id] = post
        return post
