"""The Microsoft Teams adapter: activities in, Adaptive Cards out (SPEC §8 Teams).

`inbound.activity_to_event` and `cards.message_to_card` are the two
translations; `endpoint.TeamsAdapter` serves `POST /api/messages` and
`messenger.TeamsMessenger` delivers the outbox. Every botbuilder call sits in
`sdk.py`: botbuilder-python is archived upstream, and replacing it should mean
rewriting that one module.
"""
