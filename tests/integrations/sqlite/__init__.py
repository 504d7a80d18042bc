"""Real-file tests of the sqlite integration."""
