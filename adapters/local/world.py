"""A chat platform in memory: channels with threads, and each person's DMs.

It is the local adapter's messenger: delivered messages land here with a
platform id (`local-<n>`) so thread replies and edits work as on Slack or
Teams. The demo prints what arrives; the playground shows it in a page.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.messages import Block, ToConversation, ToPerson, plain_text
from bot.people import PersonKey
from storage.delivery import Delivery


@dataclass(kw_only=True)
class Post:
    ref: str
    at: datetime
    blocks: tuple[Block, ...]
    author: str | None = None  # None: the bot
    text: str | None = None  # what a person typed
    replying_to: str | None = None  # the bot's DM a person's DM replies to
    edited: bool = False
    replies: list[Post] = field(default_factory=list)

    @property
    def body(self) -> str:
        return self.text if self.text is not None else plain_text(self.blocks)


@dataclass(kw_only=True)
class Arrival:
    """One delivered message, for a transcript."""

    at: datetime
    key: str
    post: Post
    person: PersonKey | None = None
    conversation: str | None = None
    thread: str | None = None
    edit: bool = False


class LocalWorld:
    def __init__(self) -> None:
        self._refs = (f"local-{n}" for n in itertools.count(1))
        self.channels: dict[str, list[Post]] = {}
        self.dms: dict[PersonKey, list[Post]] = {}
        self._by_ref: dict[str, Post] = {}
        self.arrivals: list[Arrival] = []
        self.members: dict[str, dict[PersonKey, str]] = {}  # who is in each channel, by name

    def join(self, conversation: str, person: PersonKey, name: str) -> None:
        """`person` joins the channel (made if new), as someone does in a workspace."""
        self.channels.setdefault(conversation, [])
        self.members.setdefault(conversation, {})[person] = name

    def new_ref(self) -> str:
        return next(self._refs)

    async def deliver(self, delivery: Delivery, now: datetime) -> str:
        """Show a message; returns its platform id."""
        if delivery.replaces_ref is not None:
            post = self._by_ref[delivery.replaces_ref]
            post.blocks, post.edited = delivery.blocks, True
            self.arrivals.append(
                Arrival(at=now, key=delivery.key, post=post, edit=True, **self._where(delivery))
            )
            return post.ref
        post = Post(ref=self.new_ref(), at=now, blocks=delivery.blocks)
        self._by_ref[post.ref] = post
        match delivery.target:
            case ToPerson(person=person):
                self.dms.setdefault(person, []).append(post)
            case ToConversation(conversation=conversation):
                if delivery.thread_ref is not None:
                    self._by_ref[delivery.thread_ref].replies.append(post)
                else:
                    self.channels.setdefault(conversation, []).append(post)
        self.arrivals.append(Arrival(at=now, key=delivery.key, post=post, **self._where(delivery)))
        return post.ref

    def _where(self, delivery: Delivery) -> dict[str, Any]:
        match delivery.target:
            case ToPerson(person=person):
                return {"person": person}
            case ToConversation(conversation=conversation):
                return {"conversation": conversation, "thread": delivery.thread_ref}

    def say(
        self, *, author: str, conversation: str, text: str, at: datetime, thread: str | None = None
    ) -> str:
        """A person posts in a channel (or a thread); returns the post's id."""
        post = Post(ref=self.new_ref(), at=at, blocks=(), author=author, text=text)
        self._by_ref[post.ref] = post
        if thread is not None:
            self._by_ref[thread].replies.append(post)
        else:
            self.channels.setdefault(conversation, []).append(post)
        return post.ref

    def dm_from(
        self,
        *,
        person: PersonKey,
        author: str,
        text: str,
        at: datetime,
        replying_to: str | None = None,
    ) -> str:
        """A person writes in their DM with the bot (in reply to one of its DMs); returns the id."""
        post = Post(
            ref=self.new_ref(), at=at, blocks=(), author=author, text=text, replying_to=replying_to
        )
        self._by_ref[post.ref] = post
        self.dms.setdefault(person, []).append(post)
        return post.ref

    def post(self, ref: str) -> Post:
        return self._by_ref[ref]
