"""What the start-up tests run in a fresh interpreter before anything else: a keyring that counts every call
and keeps what it is given, and a socket `connect` that records every internet address. Prepend `COUNTERS`
to a probe script; it defines `CountingKeyring` (calls counted on the class, reads on the instance) and
`inet`, and patches `socket.socket.connect` (call `count_connections()` when the counting should start)."""

COUNTERS = r"""
import socket
import keyring.backend

class CountingKeyring(keyring.backend.KeyringBackend):
    priority = 1
    calls = 0
    def __init__(self):
        super().__init__()
        self.store, self.reads = {}, 0
    def get_password(self, service, user):
        CountingKeyring.calls += 1
        self.reads += 1
        return self.store.get((service, user))
    def set_password(self, service, user, password):
        CountingKeyring.calls += 1
        self.store[(service, user)] = password
    def delete_password(self, service, user):
        CountingKeyring.calls += 1
        self.store.pop((service, user), None)

inet = []
def count_connections():
    real_connect = socket.socket.connect
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            inet.append(str(address))
        return real_connect(self, address)
    socket.socket.connect = connect
"""
