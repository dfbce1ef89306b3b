"""The local adapter: Circles without a Slack or Teams workspace (the demo and the playground)."""
