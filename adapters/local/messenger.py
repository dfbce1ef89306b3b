"""The local adapter's messenger: the delivery worker's port onto the in-memory `LocalWorld`.

The world is the platform here, so a send cannot fail for a transient
reason; a reply to, or an edit of, a message the world never saw fails for
good, as it would on Slack. Limits are generous: the playground and the demo
should not wait, yet they still go through the worker's pacing.
"""

from __future__ import annotations

from adapters.local.world import LocalWorld
from bot.messages import ToConversation, ToPerson
from bot.ports import Clock
from scheduler.messenger import Permanent, RateLimits
from storage.codec import person_address
from storage.delivery import Delivery

LOCAL_LIMITS = RateLimits(per_conversation=100.0, per_bot=1000.0)


class LocalMessenger:
    def __init__(
        self, world: LocalWorld, clock: Clock, *, limits: RateLimits = LOCAL_LIMITS
    ) -> None:
        self.world = world
        self.limits = limits
        self._clock = clock

    def conversation_of(self, delivery: Delivery) -> str:
        match delivery.target:
            case ToPerson(person=person):
                return person_address(person)
            case ToConversation(conversation=conversation):
                return conversation

    def bot_of(self, delivery: Delivery) -> str:
        """The workspace: a person's own, or the one a `local:<workspace>:#name` channel is in."""
        match delivery.target:
            case ToPerson(person=person):
                return person.workspace
            case ToConversation(conversation=conversation):
                parts = conversation.split(":", 2)
                return parts[1] if len(parts) == 3 and parts[0] == "local" else "local"

    async def send(self, delivery: Delivery) -> str | None:
        try:
            return await self.world.deliver(delivery, self._clock.now())
        except KeyError as error:
            raise Permanent(f"the message to reply to or edit is gone ({error})") from None
