"""Translation at the edges: Slack, Teams and the local playground, plus the composition root."""
