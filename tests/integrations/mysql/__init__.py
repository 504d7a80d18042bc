"""Real-server tests of the mysql integration."""
