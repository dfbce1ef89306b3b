"""The Slack adapter: Bolt at the edge, Block Kit out, the core in between (SPEC §8).

- `inbound.slack_to_event(body)`: a verified request as a neutral event.
- `render.message_to_blocks(msg)`: a neutral message as Block Kit with a text fallback.
- `messenger.SlackMessenger`: delivers outbox rows through the Web API.
- `app.SlackAdapter`: mounts `/slack/events` (and the OAuth install) in the server.

Nothing is imported here: a module that needs only a light part (the dashboard's
sign-in needs `inbound.PLATFORM`) must not load Bolt with it; `circles serve`
loads the adapter only when Slack is configured.
"""
