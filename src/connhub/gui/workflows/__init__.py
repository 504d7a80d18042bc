"""The Workflows window: saved workflows, their YAML, a live run and the run history (issue 18's window side)."""
