"""Overhead: the whole footprint (the helper and every child it starts) in % of one core and RSS,
with 1000 extra processes at a 1 s tick and all telemetry on, and the tick cost by stage.

All telemetry on: the latency probe's sampler, the snapshot log, the exporter (scraped once a
second, as Prometheus would at its fastest common setting), GPU reads, SLOs and alerts, and the
apps' CPU wait from schedstat for a focused app, an audio client and a compositor that a session
agent stand-in reports over the bus (each a real process with a few threads doing some work).

CPU: the helper and its live descendants from /proc/PID/stat (utime + stime of the whole thread
group, so threads that exited during the run count too, plus reaped children's cutime + cstime),
in clock ticks: within one tick per process over the run. The live threads' exact run time from
/proc/TID/schedstat is printed beside it; it misses exited threads (a server that starts a thread
per scrape once looked 0.1 % of a core cheaper that way than it was). The attention ranker loads
onnxruntime only when the engine first asks about a group near a demotion, so RSS is printed as
measured and again after a short burst of an unclassified CPU hog that makes the engine ask.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from common import REPO, Workspace, require_root, rss_mb

from smoothdesk.dbus.client import HelperClient, connect
from smoothdesk.dbus.procref import start_time
from tests.support.bus import private_bus

HZ = os.sysconf("SC_CLK_TCK")
PARTS = ("exporter", "store", "probe", "gpu")
APP = "import threading, time\n" + (
    "def work():\n    while True:\n        time.sleep(0.02)\n        t = time.thread_time() + 0.001\n"
    "        while time.thread_time() < t: pass\n"
    "for _ in range(3): threading.Thread(target=work, daemon=True).start()\nwork()\n"
)


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(text[text.rfind(")") + 2 :].split()[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def footprint(pid: int) -> tuple[float, float, dict[int, tuple[str, float]]]:
    """(exact CPU s, clock-tick CPU s, pid -> (comm, exact CPU s)) of `pid` and its live descendants."""
    exact = ticks = 0.0
    names = {}
    for p in descendants(pid):
        before = exact
        try:
            text = Path(f"/proc/{p}/stat").read_text()
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        f = text[text.rfind(")") + 2 :].split()
        reaped = (int(f[13]) + int(f[14])) / HZ
        ticks += (int(f[11]) + int(f[12])) / HZ + reaped
        exact += reaped
        for tid in tasks:
            with contextlib.suppress(OSError):
                exact += int(Path(f"/proc/{p}/task/{tid}/schedstat").read_text().split()[0]) / 1e9
        names[p] = (text[text.find("(") + 1 : text.rfind(")")], exact - before)
    return exact, ticks, names


async def ask(address: str) -> tuple[dict[str, Any], str]:
    client = HelperClient(await connect(address))
    s = await client.status()
    ranker = next((f["summary"] for f in await client.doctor() if f["key"] == "ranker"), "?")
    client.bus.disconnect()
    return s, ranker


async def report_session(address: str, focus: int, audio: int) -> Any:
    """Stand in for the tray app's session agent: report the focused window and an audio client."""
    client = HelperClient(await connect(address))
    focus_start, audio_start = start_time(focus), start_time(audio)
    assert focus_start is not None and audio_start is not None
    await client.report_focus(focus, focus_start)
    await client.report_audio([(audio, audio_start)])
    return client


def wait_ready(address: str, helper: subprocess.Popen[bytes], ws: Workspace) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if helper.poll() is not None:
            sys.exit(f"the helper exited ({helper.returncode}):\n{ws.helper_log()[-2000:]}")
        try:
            asyncio.run(ask(address))
            return
        except Exception:
            time.sleep(0.5)
    sys.exit(f"the helper did not answer within 60 s:\n{ws.helper_log()[-2000:]}")


def start_timed(ws: Workspace, name: str) -> subprocess.Popen[bytes]:
    exe = ws.dir / name
    if not exe.exists():
        os.symlink(os.path.realpath(sys.executable), exe)
    proc = subprocess.Popen([str(exe), "-c", APP], process_group=0)
    ws.procs.append(proc)
    return proc


def forks() -> int:
    """Processes started on the whole machine since boot (/proc/stat): the churn the helper follows."""
    line = next(x for x in Path("/proc/stat").read_text().splitlines() if x.startswith("processes "))
    return int(line.split()[1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_helper(ws: Workspace, tree: Path, cell: int, config: Path, address: str) -> subprocess.Popen[bytes]:
    """A helper run from `tree` (a checkout, or a `git archive` snapshot of a commit)."""
    base = ws.dir / f"cell{cell}"
    base.mkdir()
    (base / "config.toml").write_text("[rules]\nananicy_dirs = []\n")
    argv = [sys.executable, "-m", "smoothdesk.helper.main", "--bus", address, "--tick", "1.0"]
    argv += ["--config", str(base / "config.toml"), "--run-dir", str(base / "run"), "--config", str(config)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.Popen(argv, cwd=tree, env=env, stderr=(ws.dir / "helper.log").open("ab"))
    ws.procs.append(proc)
    return proc


def tree_name(tree: Path) -> str:
    if (tree / "COMMIT").exists():
        return (tree / "COMMIT").read_text().split()[0][:12]
    argv = ["git", "-C", str(tree), "describe", "--always", "--dirty"]
    out = subprocess.run(argv, check=False, capture_output=True, text=True)
    return out.stdout.strip() or str(tree)


def measure(
    ws: Workspace, args: argparse.Namespace, tree: Path, cell: int, *, address: str, apps: list[int]
) -> dict[str, Any]:
    """One helper from `tree`, measured over args.seconds; it is stopped (and restores) after."""
    port = free_port()
    config = ws.dir / f"all-on-{cell}.toml"
    on = {part: str(part not in args.off).lower() for part in PARTS}
    config.write_text(
        "[rules]\nananicy_dirs = []\n"
        f"[exporter]\nenabled = {on['exporter']}\nport = {port}\n"
        f'[store]\nenabled = {on["store"]}\npath = "{ws.dir / f"snapshots-{cell}.sqlite"}"\n'
        f"[probe]\nenabled = {on['probe']}\n[gpu]\nenabled = {on['gpu']}\n"
        f'[ranker]\nmodel = "{args.ranker}"\n'
    )
    helper = start_helper(ws, tree, cell, config, address)
    wait_ready(address, helper, ws)
    loop = asyncio.new_event_loop()
    agent = None if args.bare else loop.run_until_complete(report_session(address, apps[0], apps[1]))
    time.sleep(4.0)  # start-up and the first full reads are not the steady state
    s0, _ = asyncio.run(ask(address))
    e0, k0, parts0 = footprint(helper.pid)
    f0, t0 = forks(), time.monotonic()
    scrapes, body = 0, ""
    while time.monotonic() - t0 < args.seconds:
        time.sleep(1.0)
        if args.bare or "exporter" in args.off:
            continue
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            body = r.read().decode()
        scrapes += 1
    e1, k1, names1 = footprint(helper.pid)
    f1, t1 = forks(), time.monotonic()
    s, ranker = asyncio.run(ask(address))
    span = t1 - t0
    ticks = int(s["ticks"]) - int(s0["ticks"])
    out: dict[str, Any] = {
        "tree": tree_name(tree),
        "cpu": (k1 - k0) / span * 100,
        "cpu_live": (e1 - e0) / span * 100,
        "resolution": 100 / HZ / span,
        "ticks": ticks,
        "per_tick_ms": (k1 - k0) / max(ticks, 1) * 1000,
        "shares": {
            f"{n} {p}": (c - parts0[p][1]) / span * 100 for p, (n, c) in names1.items() if p in parts0
        },
        "children": {p: n for p, (n, _) in names1.items() if p != helper.pid},
        "churn": (f1 - f0) / span,
        "load": os.getloadavg()[0],
        "status": s,
        "ranker": ranker,
        "scrapes": scrapes,
        "waits": [line for line in body.splitlines() if line.startswith("smoothdesk_cpu_wait")],
        "rss": rss_mb(helper.pid),
    }
    out["rss_children"] = sum(rss_mb(p) for p in out["children"])
    if args.ranker_rss:
        # Two spinners under a name no rule knows: the noisy-neighbour stage asks the ranker.
        hogs = ws.hogs(2, name="smoothdesk-bench-spin")
        time.sleep(15.0)
        ws.kill(hogs)
        _, out["ranker_after"] = asyncio.run(ask(address))
        alive = [p for p in out["children"] if Path(f"/proc/{p}").exists()]
        out["rss_loaded"] = rss_mb(helper.pid) + sum(rss_mb(p) for p in alive)
    if agent is not None:
        agent.bus.disconnect()
        loop.run_until_complete(agent.bus.wait_for_disconnect())
    loop.close()
    ws.kill([helper])
    return out


def report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    s = r["status"]
    print(
        f"--- {r['tree']}: {s['processes']} processes, {s['groups']} apps, tick 1 s, "
        f"{args.seconds:.0f} s measured" + (f", off: {', '.join(sorted(args.off))}" if args.off else "")
    )
    print(f"children of the helper: {', '.join(f'{n} ({p})' for p, n in r['children'].items()) or 'none'}")
    print(
        f"machine churn while measured: {r['churn']:.0f} processes started per second "
        + (
            "(out of the helper's view: --isolated), "
            if args.isolated
            else "(the helper reads each new one; others' work on this shared machine inflates its cost), "
        )
        + f"load average {r['load']:.1f}"
    )
    print(
        f"whole footprint CPU {r['cpu']:.3f}% of one core, +-{r['resolution']:.3f} per process (limit "
        f"0.5%, ratio {r['cpu'] / 0.5:.2f}); live threads' schedstat {r['cpu_live']:.3f}%; by process: "
        + ", ".join(f"{k} {v:.3f}%" for k, v in r["shares"].items())
    )
    # Under heavy load ticks fall behind and are skipped, which lowers the CPU share: per tick
    # the cost does not depend on how many ticks ran.
    print(
        f"{r['ticks']} ticks in {args.seconds:.0f} s: {r['per_tick_ms']:.2f} ms CPU per tick (all threads "
        f"and children), {r['per_tick_ms'] / 10:.3f}% of one core at one tick a second"
    )
    rss = r["rss"] + r["rss_children"]
    print(
        f"RSS helper {r['rss']:.1f} MB + children {r['rss_children']:.1f} MB = {rss:.1f} MB "
        f"(limit 60 MB, ratio {rss / 60:.2f}); ranker: {r['ranker']}"
    )
    if "rss_loaded" in r:
        print(
            f"RSS {r['rss_loaded']:.1f} MB with children after a hog made the engine ask "
            f"(limit 110 MB, ratio {r['rss_loaded'] / 110:.2f}); ranker: {r['ranker_after']}"
        )
    print(f"exporter scraped {r['scrapes']} times; its CPU wait lines: {'; '.join(r['waits']) or 'none'}")
    stages = s["stage_ms"]
    assert isinstance(stages, dict)
    print(
        "last tick by stage (ms CPU): "
        + ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
        + f"; total {s['tick_cost_ms']:.2f}"
    )


def compare(results: list[dict[str, Any]]) -> None:
    """Median and spread per tree, and each tree's median over the first's (cells alternate)."""
    names = list(dict.fromkeys(r["tree"] for r in results))
    medians: dict[str, tuple[float, float]] = {}
    for name in names:
        mine = [r for r in results if r["tree"] == name]
        cpu = sorted(r["cpu"] for r in mine)
        per_tick = sorted(r["per_tick_ms"] for r in mine)
        medians[name] = (statistics.median(cpu), statistics.median(per_tick))
        print(
            f"{name}: footprint median {medians[name][0]:.3f}% of one core (min {cpu[0]:.3f}, "
            f"max {cpu[-1]:.3f}, {len(cpu)} runs); per tick median {medians[name][1]:.2f} ms "
            f"(min {per_tick[0]:.2f}, max {per_tick[-1]:.2f})"
        )
    first = names[0]
    for name in names[1:]:
        print(
            f"{name} over {first}: footprint {medians[name][0] / medians[first][0]:.2f}, "
            f"per tick {medians[name][1] / medians[first][1]:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--ranker", default="default", help='ranker.model: "off" measures RSS without it')
    parser.add_argument(
        "--isolated",
        action="store_true",
        help="run everything in a PID namespace of its own, so that other work on a shared machine "
        "(its process churn, which the helper follows) is out of view; the kernel's proc connector "
        "serves only the initial namespace, so the helper falls back to its periodic scans",
    )
    parser.add_argument(
        "--bare",
        action="store_true",
        help="no focused app, audio client, compositor or scrapes: the old setup",
    )
    parser.add_argument(
        "--helper-tree",
        type=Path,
        action="append",
        default=[],
        help="run the helper from this tree (a checkout, or `git archive <commit> | tar -x -C DIR` with "
        "the commit in DIR/COMMIT); given twice or more, the trees' runs alternate and the medians are "
        "compared; default: this checkout",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each tree")
    parser.add_argument(
        "--off",
        type=lambda text: set(filter(None, text.split(","))),
        default=set(),
        help=f"telemetry parts to turn off, comma-separated ({', '.join(PARTS)}): what each one costs",
    )
    args = parser.parse_args()
    require_root()
    if args.isolated and os.environ.get("SD_BENCH_ISOLATED") != "1":
        env = dict(os.environ, SD_BENCH_ISOLATED="1")
        argv = ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, *sys.argv]
        os.execvpe("unshare", argv, env)
    trees = [t.resolve() for t in args.helper_tree] or [REPO]
    # RSS after the ranker loads takes 15 s more a run: measured when one tree runs once.
    args.ranker_rss = len(trees) == 1 and args.repeat == 1
    results = []
    with Workspace() as ws, private_bus() as address:
        sleeper = ws.binary("sleeper")
        for _ in range(args.processes):
            ws.procs.append(subprocess.Popen([str(sleeper), "-c", "exec sleep 3600"], process_group=0))
        apps = [] if args.bare else [start_timed(ws, n).pid for n in ("editor", "player", "sway")]
        cell = 0
        for _ in range(args.repeat):
            for tree in trees:
                result = measure(ws, args, tree, cell, address=address, apps=apps)
                cell += 1
                report(args, result)
                results.append(result)
    if len(results) > 1:
        compare(results)


if __name__ == "__main__":
    main()
