"""Persistence: instances and test history through SQLAlchemy (never a secret), secrets in the keyring."""
