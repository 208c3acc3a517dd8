"""Opt-in Prometheus exporter: smoothdesk_* gauges of the last tick, bounded labels, loopback by default."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from smoothdesk.telemetry.exporter_metrics import Latest, MetricsPage
from smoothdesk.telemetry.exposition import CONTENT_TYPE
from smoothdesk.telemetry.metrics_http import PageServer
from smoothdesk.telemetry.schema import StoreError


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
    """The HTTP server for /metrics, on a thread of its own; port 0 picks a free port (see .port)."""

    def __init__(
        self,
        source: Callable[[], Latest | None],
        *,
        address: str = "127.0.0.1",
        port: int = 9477,
        allow_remote: bool = False,
        top_apps: int = 10,
    ) -> None:
        check_address(address, allow_remote)
        self.address = address
        self.page = MetricsPage(source, top_apps)
        host = "127.0.0.1" if address == "localhost" else address
        try:
            self._server = PageServer(host, port, self.page.body, CONTENT_TYPE)
        except OSError as exc:
            raise ExporterError(f"exporter: cannot listen on {address}:{port}: {exc.strerror}") from exc
        self.port = self._server.port

    def close(self) -> None:
        self._server.close()
