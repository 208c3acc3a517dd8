"""The built-in type table, and the class of an ananicy-cpp type or rule SmoothDesk does not know.

Type names are looked up case-insensitively ("Chat" and "chat" are one type), because the
CachyOS DB spells its own types both ways. The table, and why:

=================  ============  ===============================================================
type               class         why
=================  ============  ===============================================================
audio              critical      sound servers: a late buffer is an audible click
compositor         critical      compositors and display servers: every frame goes through them
browser            normal+tag    only the focused one is interactive; the engine decides that,
terminal           normal+tag    so these carry the ``interactive-capable`` tag instead of a
editor             normal+tag    raised class (a hidden browser tab must not outrank a build)
game               normal+tags   ``interactive-capable`` and ``game``: the focused game is
                                 critical, a minimised one is not
compiler, build    background    build tools: wanted soon, but never at the desktop's expense
compressor         background    xz, zstd and friends: pure CPU burners
package-manager    background    apt, pacman, dnf run by the person: they wait for it, so not idle
indexer            idle          nobody waits for an index
backup             idle          nor for a scheduled backup
updater            idle          nor for unattended upgrades or firmware checks
=================  ============  ===============================================================

ananicy-cpp types (CachyOS names) map onto the same classes:

- ``Player-Audio``, ``Player-Video``, ``LowLatency_RT``: interactive. ananicy boosts them always;
  critical stays reserved for the audio server, the compositor and the focused game.
- ``Game``, ``Chat``, ``Doc-View`` (CachyOS files browsers there), ``Image-View``: normal with
  ``interactive-capable``, for the same reason as browsers.
- ``BG_CPUIO``, ``Heavy_CPU``, ``compiler``: background. ananicy runs BG_CPUIO under SCHED_IDLE,
  but the DB lists ccache, pip and tumblerd there: work a person often waits for.
- ``Service`` (desktop helpers: keyring, media keys, accessibility), ``IN_DIFF``, ``OOM_KILL``,
  ``OOM_NO_KILL``, ``tests``: normal. Demoting media-key or accessibility daemons adds latency
  the person feels; the OOM types carry no CPU intent at all.

Any other ananicy type defined in a ``.types`` file, and an untyped ananicy rule, gets a class
from its values by `class_from_attrs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smoothdesk.core.classes import PriorityClass
from smoothdesk.policy.rules import TypeDef

TAG_INTERACTIVE_CAPABLE = "interactive-capable"
TAG_GAME = "game"
TAG_MEDIA = "media"

_C = PriorityClass
_ICAP = frozenset({TAG_INTERACTIVE_CAPABLE})

_TABLE: tuple[tuple[str, PriorityClass, frozenset[str], str], ...] = (
    ("audio", _C.CRITICAL, frozenset(), "sound servers"),
    ("compositor", _C.CRITICAL, frozenset(), "compositors and display servers"),
    ("browser", _C.NORMAL, _ICAP, "web browsers"),
    ("terminal", _C.NORMAL, _ICAP, "terminal emulators"),
    ("editor", _C.NORMAL, _ICAP, "text editors and IDEs"),
    ("game", _C.NORMAL, _ICAP | {TAG_GAME}, "games"),
    ("compiler", _C.BACKGROUND, frozenset(), "compilers, assemblers and linkers"),
    ("build", _C.BACKGROUND, frozenset(), "build drivers"),
    ("compressor", _C.BACKGROUND, frozenset(), "compressors and archivers"),
    ("package-manager", _C.BACKGROUND, frozenset(), "package managers run by the person"),
    ("indexer", _C.IDLE, frozenset(), "file indexers"),
    ("backup", _C.IDLE, frozenset(), "backup tools"),
    ("updater", _C.IDLE, frozenset(), "unattended updaters"),
    # ananicy-cpp / CachyOS types; "Game" and "compiler" are above (case-insensitive).
    ("Player-Audio", _C.INTERACTIVE, frozenset({TAG_MEDIA}), "ananicy: audio players"),
    ("Player-Video", _C.INTERACTIVE, frozenset({TAG_MEDIA}), "ananicy: video players"),
    ("LowLatency_RT", _C.INTERACTIVE, frozenset(), "ananicy: low-latency applications"),
    ("Chat", _C.NORMAL, _ICAP, "ananicy: chat clients"),
    ("Doc-View", _C.NORMAL, _ICAP, "ananicy: document viewers and browsers"),
    ("Image-View", _C.NORMAL, _ICAP, "ananicy: image viewers"),
    ("BG_CPUIO", _C.BACKGROUND, frozenset(), "ananicy: background CPU/IO load"),
    ("Heavy_CPU", _C.BACKGROUND, frozenset(), "ananicy: heavy CPU load"),
    ("Service", _C.NORMAL, frozenset(), "ananicy: desktop services"),
    ("IN_DIFF", _C.NORMAL, frozenset(), "ananicy: indifferent"),
    ("OOM_KILL", _C.NORMAL, frozenset(), "ananicy: OOM score only"),
    ("OOM_NO_KILL", _C.NORMAL, frozenset(), "ananicy: OOM score only"),
    ("tests", _C.NORMAL, frozenset(), "ananicy: benchmarks and tests"),
)

BUILTIN_TYPES: Mapping[str, TypeDef] = {
    name.lower(): TypeDef(name, klass, tags, description=desc) for name, klass, tags, desc in _TABLE
}

_REALTIME_SCHED = frozenset({"rr", "fifo"})
_LOW_SCHED = frozenset({"idle", "batch"})


def class_from_attrs(attrs: Mapping[str, Any]) -> PriorityClass | None:
    """The class an ananicy-cpp type or untyped rule asks for through its values, if any.

    sched idle with ioclass idle is idle; nice >= 10, sched idle or batch, ioclass idle or a
    CPU-quota cgroup is background; sched rr or fifo (or an rtprio) is critical (the author asked
    for real time); nice <= -5 or ioclass realtime is interactive (never more from nice alone); any other
    nice is normal. Values that say nothing about the CPU (oom_score_adj) give None.
    """
    sched = str(attrs.get("sched", "")).lower()
    ioclass = str(attrs.get("ioclass", "")).lower()
    nice = attrs.get("nice")
    if sched == "idle" and ioclass == "idle":
        return PriorityClass.IDLE
    if sched in _REALTIME_SCHED or "rtprio" in attrs:
        return PriorityClass.CRITICAL
    if isinstance(nice, int) and nice >= 10:
        return PriorityClass.BACKGROUND
    if sched in _LOW_SCHED or ioclass == "idle" or "cgroup" in attrs:
        return PriorityClass.BACKGROUND
    if (isinstance(nice, int) and nice <= -5) or ioclass == "realtime":
        return PriorityClass.INTERACTIVE
    if isinstance(nice, int) or "latency_nice" in attrs:
        return PriorityClass.NORMAL
    return None
