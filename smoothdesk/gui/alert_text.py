"""An alert in a person's words: a plain title, the app to blame where one stands out, what is done."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from smoothdesk.gui.apps_model import human_bytes

# sample name -> (raised, resolved, what to blame: "cpu", "rss", "io" or "")
HEADLINES: dict[str, tuple[str, str, str]] = {
    "cpu_busy_percent": ("CPU is saturated", "CPU is no longer saturated", "cpu"),
    "memory_available_percent": ("Memory is running low", "Memory is available again", "rss"),
    "swap_used_percent": ("Swap is filling up", "Swap use is back to normal", "rss"),
    "psi_cpu_some_avg10": ("Programs are waiting for the CPU", "Programs no longer wait for the CPU", "cpu"),
    "psi_memory_some_avg10": ("Programs are waiting for memory", "Programs no longer wait for memory", "rss"),
    "psi_io_full_avg10": ("Programs are waiting for the disk", "Programs no longer wait for the disk", "io"),
    "latency_p99_ms": ("The desktop is slow to respond", "The desktop responds quickly again", "cpu"),
    "focus_cpu_wait_ms": (
        "The window you are using is waiting for the CPU",
        "The window you are using no longer waits for the CPU",
        "cpu",
    ),
    "disk_used_percent": ("Disk is nearly full", "Disk has room again", ""),
}
DEMOTED = ("background", "idle")
Namer = Callable[[Mapping[str, Any]], str]


def plural(word: str, n: int) -> str:
    if n == 1:
        return word
    return word + ("es" if word.endswith(("s", "sh", "ch", "x")) else "s")


def _words(identifier: str) -> str:
    return identifier.replace("_", " ").strip() or "Something"


def headline(alert: Mapping[str, Any]) -> str:
    """ "CPU is saturated", "Disk /home is nearly full": never an identifier."""
    metric = str(alert.get("metric") or alert.get("id") or "")
    base, _, instance = metric.partition(":")
    raised, resolved, _ = HEADLINES.get(base, ("", "", ""))
    resolved_now = alert.get("severity") == "resolved"
    if not raised:
        text = f"{_words(base).capitalize()} is back to normal" if resolved_now else _words(base).capitalize()
    else:
        text = resolved if resolved_now else raised
    if instance and text.startswith("Disk "):
        text = f"Disk {instance} {text.removeprefix('Disk ')}"
    return text


def culprit(alert: Mapping[str, Any], apps: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The app using most of what the alert is about, if it uses a noticeable share."""
    base = str(alert.get("metric") or "").partition(":")[0]
    what = HEADLINES.get(base, ("", "", ""))[2]
    key = {"cpu": "cpu", "rss": "rss", "io": "io_rate"}.get(what)
    if key is None or not apps:
        return None
    top = max(apps, key=lambda a: float(a.get(key, 0.0) or 0.0))
    floor = {"cpu": 10.0, "rss": 64 * 2**20, "io_rate": 2**20}[key]
    return top if float(top.get(key, 0.0) or 0.0) >= floor else None


def members_text(app: Mapping[str, Any]) -> str:
    """ "9 compilers": the largest set of its processes classed apart from it."""
    labels = Counter(str(m.get("label") or "") for m in app.get("members") or [] if m.get("label"))
    if not labels:
        return ""
    label, n = labels.most_common(1)[0]
    return f"{n} {plural(label, n)}"


def _use(app: Mapping[str, Any], what: str) -> str:
    if what == "rss":
        return human_bytes(float(app.get("rss", 0)))
    if what == "io":
        return human_bytes(float(app.get("io_rate", 0.0))) + "/s of disk"
    return f"{float(app.get('cpu', 0.0)):.0f} % of a core"


def _done(app: Mapping[str, Any]) -> str:
    classes = [str(app.get("class", ""))] + [str(m.get("class", "")) for m in app.get("members") or []]
    demoted = next((c for c in classes if c in DEMOTED), "")
    if app.get("pinned"):
        return f"you set it to {app['pinned']}"
    if demoted:
        return f"already in {demoted}"
    return "open Applications to move it to the background"


def body(alert: Mapping[str, Any], apps: Sequence[Mapping[str, Any]], name_of: Namer) -> str:
    """ "make -j8 (9 compilers) is using 98 % of a core — already in background", else the figure."""
    base = str(alert.get("metric") or "").partition(":")[0]
    what = HEADLINES.get(base, ("", "", ""))[2]
    figure = _figure(alert)
    app = culprit(alert, apps) if alert.get("severity") != "resolved" else None
    if app is None:
        return figure
    members = members_text(app)
    who = f"{name_of(app)} ({members})" if members else name_of(app)
    return f"{who} is using {_use(app, what)} — {_done(app)}.\n{figure}"


def _figure(alert: Mapping[str, Any]) -> str:
    """The helper's message names the figure in words (its labels), with the value and the line."""
    message = str(alert.get("message") or "")
    if message and "_" not in message.split("(", maxsplit=1)[0]:
        return message
    value = alert.get("value")
    return f"Now {float(value):.3g}." if isinstance(value, (int, float)) else ""
