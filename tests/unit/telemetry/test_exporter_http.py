"""The exporter's own HTTP server and text format: real sockets on 127.0.0.1, read back with
prometheus_client's parser."""

from __future__ import annotations

import math
import socket
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from smoothdesk.telemetry import metrics_http
from smoothdesk.telemetry.exporter import Exporter
from smoothdesk.telemetry.exporter_metrics import Latest, MetricsPage
from smoothdesk.telemetry.exposition import Gauge, render


def raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def test_labels_and_numbers_that_need_escaping_parse_back_as_written() -> None:
    odd = 'say "hi"\\ or\nnot'
    text = render([
        Gauge.by_label("t_app", "Doc with \\ and\nnewline.", "app", {odd: 1.5, "plain": 2e9}),
        Gauge.single("t_inf", "Inf.", math.inf),
        Gauge.single("t_nan", "NaN.", math.nan),
    ]).decode()  # fmt: skip
    families = {f.name: f for f in text_string_to_metric_families(text)}
    values = {s.labels["app"]: s.value for s in families["t_app"].samples}
    assert values == {odd: 1.5, "plain": 2e9}
    assert families["t_app"].documentation == "Doc with \\ and\nnewline."
    assert families["t_inf"].samples[0].value == math.inf
    assert math.isnan(families["t_nan"].samples[0].value)


def test_the_page_renders_once_per_tick_however_often_it_is_scraped() -> None:
    calls = []
    tick: list[dict[str, float | int]] = [{"cpu_busy": 1.0}]

    def source() -> Latest:
        calls.append(1)
        return Latest(tick[0])  # a new Latest at each call, as the helper's telemetry gives

    page = MetricsPage(source)
    first = page.body()
    assert page.body() is first  # the same bytes object: not rendered again
    tick[0] = {"cpu_busy": 2.0}
    second = page.body()
    assert second is not first and b"smoothdesk_cpu_busy_percent 2.0" in second
    assert len(calls) == 3


def test_methods_paths_and_head() -> None:
    exporter = Exporter(lambda: Latest({"cpu_busy": 3.0}), port=0)
    try:
        ok = raw(exporter.port, b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n")
        head = raw(exporter.port, b"HEAD /metrics HTTP/1.0\r\n\r\n")
        post = raw(exporter.port, b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        missing = raw(exporter.port, b"GET /etc/passwd HTTP/1.1\r\n\r\n")
        junk = raw(exporter.port, b"\x00\x01garbage\r\n\r\n")
        head_line = b"GET /metrics HTTP/1.1\r\nX: "
        # Exactly the limit, no end of headers: all of it read, so the close sends no reset.
        huge = raw(exporter.port, head_line + b"a" * (metrics_http.MAX_REQUEST - len(head_line)))
    finally:
        exporter.close()
    status = ok.split(b"\r\n", 1)[0]
    assert status == b"HTTP/1.1 200 OK" and b"text/plain; version=0.0.4" in ok
    assert b"smoothdesk_cpu_busy_percent 3.0" in ok
    length = int(ok.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    assert len(ok.split(b"\r\n\r\n", 1)[1]) == length
    assert head.startswith(b"HTTP/1.1 200 OK") and head.endswith(b"\r\n\r\n")
    assert post.startswith(b"HTTP/1.1 405") and b"Allow: GET, HEAD" in post
    assert missing.startswith(b"HTTP/1.1 404")
    assert junk.startswith(b"HTTP/1.1 400")
    assert huge.startswith(b"HTTP/1.1 431")


def test_idle_connections_neither_block_a_scrape_nor_stay_open(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics_http, "DEADLINE_S", 0.5)
    monkeypatch.setattr(metrics_http, "MAX_CLIENTS", 4)
    exporter = Exporter(lambda: None, port=0)
    idle = [socket.create_connection(("127.0.0.1", exporter.port), timeout=10) for _ in range(8)]
    try:
        for s in idle[:3]:
            s.sendall(b"GET /met")  # a request begun and never finished
        # Eight held connections, four allowed: the extra ones are closed at once.
        closed_at_once = 0
        for s in idle[4:]:
            s.settimeout(2)
            closed_at_once += s.recv(1) == b""
        assert closed_at_once == 4
        time.sleep(1.5)  # past the deadline: the first four are dropped, the slot is free again
        with urllib.request.urlopen(f"http://127.0.0.1:{exporter.port}/metrics", timeout=10) as r:
            assert b"smoothdesk_up 0.0" in r.read()
        for s in idle[:4]:
            s.settimeout(2)
            assert s.recv(1) == b""  # dropped by the server, unanswered
    finally:
        for s in idle:
            s.close()
        exporter.close()


def test_a_missing_page_is_an_http_error_to_urllib() -> None:
    exporter = Exporter(lambda: None, port=0)
    try:
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"http://127.0.0.1:{exporter.port}/nothing", timeout=10)
        info.value.close()  # the error holds the response's socket
        assert info.value.code == 404
    finally:
        exporter.close()
