"""Real-server tests of the ssh integration (an asyncssh server started in-process)."""
