"""Programmes (SPEC §13): a cohort enrolled, matched into circles or pairs, and launched.

`model` holds the programme, each participant's enrolment and intake, the
proposal the manager shapes, and the match history; `ports` what the core
needs from outside (a solver, a platform's spaces); `manage` the managers'
commands; `intake` the participants' side: the invitation, the intake by DM,
and the reminders. The grouping itself is the matching engine's (`bot.matching`).
"""
