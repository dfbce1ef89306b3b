"""The conversation core of Circles.

Everything a circle does lives here, expressed without any chat platform,
database or scheduler: circles and their kinds, sessions, check-ins, the hot
seat, commitments, rotation, nudges, the command grammar, and the neutral
events and messages that adapters translate to and from Slack or Teams.
"""
