"""`/admin/`: the programme dashboard in `circles serve` (SPEC §16).

Server-rendered pages (Jinja2) with charts drawn on the server (pygal), a
signed session cookie with a CSRF token for every form, and actions that run
the core's own commands as the person signed in. `site` holds the routes.
"""
