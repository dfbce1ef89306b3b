"""The Teams app package's files, installed as `adapters.teams.app` (see pyproject.toml)."""
