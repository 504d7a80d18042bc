"""Real-server tests of the redis integration."""
