"""A forward proxy that lets nothing through: it logs every request and refuses it.

Set as the environment's proxy (see `environment`), it is where any request to a real
host goes, https ones as a CONNECT tunnel, so a test can assert that a command asked the
internet for nothing, and the command never reaches the internet even when it is wrong.
"""

from __future__ import annotations

from .base import RecordedRequest, Response, StandInServer


class ProxySink(StandInServer):
    def handle(self, request: RecordedRequest) -> Response:
        return Response(403, "the test proxy forwards nothing")

    def environment(self, no_proxy: str = "127.0.0.1") -> dict[str, str]:
        """Proxy variables (both spellings) for CliRunner's `env`: every host but
        `no_proxy` (the test's own stand-ins) goes to this sink."""
        env = {}
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            env[name] = env[name.lower()] = self.url
        env["NO_PROXY"] = env["no_proxy"] = no_proxy
        return env
