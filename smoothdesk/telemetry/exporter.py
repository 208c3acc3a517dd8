"""Opt-in Prometheus exporter: smoothdesk_* gauges of the last tick, bounded labels, loopback by default."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING

from smoothdesk.telemetry.schema import StoreError

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from smoothdesk.telemetry.exporter_metrics import Latest


class ExporterError(StoreError):
    """The exporter cannot listen as configured; the message names the option."""


def check_address(address: str, allow_remote: bool) -> None:
    if address == "localhost":
        return
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ExporterError(f"exporter.address {address!r}: not an IP address (or localhost)") from None
    if not ip.is_loopback and not allow_remote:
        raise ExporterError(
            f"exporter.address {address!r} is not loopback: anyone who can reach it reads your "
            "application names; set exporter.allow_remote = true to allow it"
        )


class Exporter:
    """The HTTP server for /metrics, on its own thread; port 0 picks a free port (see .port)."""

    def __init__(
        self,
        source: Callable[[], Latest | None],
        *,
        address: str = "127.0.0.1",
        port: int = 9477,
        allow_remote: bool = False,
        top_apps: int = 10,
    ) -> None:
        # prometheus_client costs the helper ~12 MB resident: loaded only when the exporter is on.
        from prometheus_client import start_http_server
        from prometheus_client.registry import CollectorRegistry

        from smoothdesk.telemetry.exporter_metrics import LatestCollector

        check_address(address, allow_remote)
        self.address = address
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(LatestCollector(source, top_apps))
        try:
            self._server, self._thread = start_http_server(port, address, self.registry)
        except OSError as exc:
            raise ExporterError(f"exporter: cannot listen on {address}:{port}: {exc.strerror}") from exc
        self.port = int(self._server.server_port)

    @property
    def server(self) -> WSGIServer:
        return self._server

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)
