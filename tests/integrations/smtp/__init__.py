"""Real-server tests of the smtp integration (aiosmtpd servers started in-process)."""
