"""SSH's action: run one command on the server and return its output and exit status.

The connection is made exactly as the connection test makes it: the host key is checked by the instance's
policy before any credential is sent, one login method only (nothing from ~/.ssh, the agent or ssh_config),
the same connect and login timeouts. Output is read as it comes and kept up to a cap per stream; the rest is
read and dropped so the command can finish and report its exit status, up to a limit past which it is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from connhub.core.context import ActionContext
from connhub.core.errors import ConfigError, ConnectTimeout
from connhub.core.integration import Values
from connhub.core.net import handshake, resolve_host
from connhub.core.rows import capped_text

#: Output read and dropped past the cap before the command is closed (a `yes` must not run until the timeout).
DRAIN_LIMIT = 64 * 1024 * 1024
CHUNK = 64 * 1024


class SshActions:
    """Mixed into SshIntegration: `run_command`."""

    async def run_command(self, params: Values, config: Values, secrets: Values, ctx: ActionContext
                          ) -> dict[str, Any]:
        import asyncssh

        cap = int(params.get("max_output_bytes") or 65536)
        limit = min(float(params.get("timeout") or 60), ctx.remaining())
        conn = await _connect(config, secrets, ctx)
        try:
            try:
                process = await conn.create_process(params["command"], encoding=None)
                process.stdin.write_eof()  # no input: a command that reads stdin sees its end at once
                async with asyncio.timeout(limit):
                    (out, out_cut, out_over), (err, err_cut, err_over) = await asyncio.gather(
                        _collect(process.stdout, cap), _collect(process.stderr, cap))
                    if out_over or err_over:
                        process.close()
                    await process.wait_closed()
            except TimeoutError:
                raise ConnectTimeout(f"The command did not finish within {limit:g} s") from None
            except asyncssh.ChannelOpenError as exc:
                raise ConfigError(f"The server refused to run a command: {exc.reason}") from None
        except BaseException:
            conn.abort()
            raise
        conn.close()
        status = process.exit_status
        signal = process.exit_signal[0] if process.exit_signal else None
        return {"stdout": out, "stderr": err, "exit_status": status if status is not None and status >= 0 else None,
                "signal": signal, "stdout_truncated": out_cut, "stderr_truncated": err_cut,
                "closed_early": bool(out_over or err_over)}


async def _collect(stream: Any, cap: int) -> tuple[str, bool, bool]:
    """(text of the first `cap` bytes, whether there was more, whether it passed DRAIN_LIMIT)."""
    kept = bytearray()
    total = 0
    while chunk := await stream.read(CHUNK):
        total += len(chunk)
        if len(kept) < cap:
            kept += chunk[:cap - len(kept)]
        if total > DRAIN_LIMIT:
            text, _ = capped_text(bytes(kept), cap)
            return text, True, True
    text, _ = capped_text(bytes(kept), cap)
    return text, total > cap, False


async def _connect(config: Values, secrets: Values, ctx: ActionContext) -> Any:
    """The connection test's connect and login, with its host-key policy and its one login method."""
    import asyncssh

    from connhub.integrations.ssh import _map_error, login_settings

    host, port, user, method, auth, check = login_settings(config, secrets)
    await resolve_host(host, port, ctx)

    class _Client(asyncssh.SSHClient):
        def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
            return check.decide(host, addr, port, key)

    with handshake(ctx, lambda exc: _map_error(exc, ctx, check, method, user)):
        return await asyncssh.connect(
            host, port, username=user, known_hosts=check.known_hosts, client_factory=_Client,
            connect_timeout=ctx.remaining(), login_timeout=ctx.remaining(),
            config=None, agent_path=None, agent_forwarding=False, gss_auth=False, gss_kex=False,
            host_based_auth=False, **auth)
