"""The Slack adapter: Bolt at the edge, Block Kit out, the core in between (SPEC §8).

- `inbound.slack_to_event(body)`: a verified request as a neutral event.
- `render.message_to_blocks(msg)`: a neutral message as Block Kit with a text fallback.
- `messenger.SlackMessenger`: delivers outbox rows through the Web API.
- `app.SlackAdapter`: mounts `/slack/events` (and the OAuth install) in the server.
"""

from adapters.slack.app import BOT_EVENTS, BOT_SCOPES, SlackAdapter
from adapters.slack.messenger import SlackMessenger

__all__ = ["BOT_EVENTS", "BOT_SCOPES", "SlackAdapter", "SlackMessenger"]
