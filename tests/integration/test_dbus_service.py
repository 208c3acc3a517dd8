"""The bus adaptor on a real private dbus-daemon: validation, authorization, errors, introspection."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from typing import Any

import pytest
from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from smoothdesk.dbus import errors
from smoothdesk.dbus.authorize import SameUserAuthorizer
from smoothdesk.dbus.client import HelperClient
from smoothdesk.dbus.introspection import node_xml
from smoothdesk.dbus.names import BUS_NAME, INTERFACE, OBJECT_PATH
from smoothdesk.dbus.service import HelperService
from tests.support.users import REPO, drop_to_nobody, unprivileged_python


class RecordingApi:
    """Records what reached the API, so a test can prove a rejected call changed nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def status(self) -> dict[str, Any]:
        return {"paused": False, "ticks": 3, "cost": 0.5}

    def apps(self) -> list[dict[str, Any]]:
        return [{"id": "tree:0:1:1", "name": "make", "reasons": ["rule: make"], "pids": [1, 2]}]

    def app(self, ref: str) -> dict[str, Any]:
        if ref != "make":
            raise errors.NotFound(f"no app {ref!r}")
        return self.apps()[0]

    def rules(self) -> list[dict[str, Any]]:
        return []

    def app_owner(self, ref: str) -> int:
        return os.geteuid()

    def set_class(self, caller_uid: int, ref: str, class_name: str, duration: float) -> None:
        self.calls.append(("set_class", caller_uid, ref, class_name, duration))

    def clear_class(self, caller_uid: int, ref: str) -> None:
        self.calls.append(("clear_class", caller_uid, ref))

    def pause(self, caller_uid: int, duration: float) -> None:
        self.calls.append(("pause", caller_uid, duration))

    def resume(self, caller_uid: int) -> None:
        raise RuntimeError("boom: internal detail that must not leak")

    def reload_rules(self, caller_uid: int) -> list[str]:
        return ["x.toml:3: warning"]


async def serve(address: str, api: RecordingApi) -> MessageBus:
    bus = await MessageBus(bus_address=address).connect()
    await bus.request_name(BUS_NAME)
    HelperService(bus, api, SameUserAuthorizer(os.geteuid())).start()
    return bus


async def close(bus: MessageBus) -> None:
    bus.disconnect()
    await bus.wait_for_disconnect()


async def raw_call(bus: MessageBus, member: str, signature: str, body: list[Any]) -> Message:
    reply = await bus.call(
        Message(
            destination=BUS_NAME,
            path=OBJECT_PATH,
            interface=INTERFACE,
            member=member,
            signature=signature,
            body=body,
        )
    )
    assert reply is not None
    return reply


def test_reads_mutations_and_errors(bus_address: str) -> None:
    async def scenario() -> None:
        api = RecordingApi()
        server = await serve(bus_address, api)
        client_bus = await MessageBus(bus_address=bus_address).connect()
        client = HelperClient(client_bus)
        assert (await client.status())["ticks"] == 3
        assert (await client.apps())[0]["pids"] == [1, 2]
        await client.set_class("make", "IDLE", 60.0)
        assert api.calls == [("set_class", os.geteuid(), "make", "idle", 60.0)]

        bad_class = await raw_call(client_bus, "SetClass", "ssd", ["make", "turbo", 0.0])
        assert bad_class.error_name == errors.INVALID_ARGS
        assert "class_name" in bad_class.body[0]
        for duration in (-1.0, float("nan"), 1e12):
            reply = await raw_call(client_bus, "Pause", "d", [duration])
            assert reply.error_name == errors.INVALID_ARGS and "duration" in reply.body[0]
        wrong_sig = await raw_call(client_bus, "SetClass", "s", ["make"])
        assert wrong_sig.error_name == errors.BAD_SIGNATURE
        huge = await raw_call(client_bus, "ClearClass", "s", ["x" * 100_000])
        assert huge.error_name == errors.INVALID_ARGS
        missing = await raw_call(client_bus, "GetApp", "s", ["firefox"])
        assert missing.error_name == errors.NOT_FOUND
        internal = await raw_call(client_bus, "Resume", "", [])
        assert internal.error_name == errors.FAILED
        assert "boom" not in internal.body[0] and "Traceback" not in internal.body[0]
        unknown = await raw_call(client_bus, "Explode", "", [])
        assert unknown.error_name == errors.UNKNOWN_METHOD
        assert len(api.calls) == 1  # nothing rejected reached the API

        intro = await client_bus.call(
            Message(
                destination=BUS_NAME,
                path=OBJECT_PATH,
                interface="org.freedesktop.DBus.Introspectable",
                member="Introspect",
            )
        )
        assert intro is not None and intro.message_type == MessageType.METHOD_RETURN
        assert intro.body[0] == node_xml()
        # Calls that are not ours pass the caller's quota too, and get the usual answers.
        ping = await client_bus.call(
            Message(destination=BUS_NAME, path="/", interface="org.freedesktop.DBus.Peer", member="Ping")
        )
        assert ping is not None and ping.message_type == MessageType.METHOD_RETURN
        elsewhere = await client_bus.call(
            Message(destination=BUS_NAME, path="/elsewhere", interface=INTERFACE, member="GetStatus")
        )
        assert elsewhere is not None and elsewhere.error_name == errors.UNKNOWN_OBJECT
        props = await client_bus.call(
            Message(destination=BUS_NAME, path=OBJECT_PATH, interface="org.freedesktop.DBus.Properties",
                    member="GetAll", signature="s", body=[INTERFACE])
        )  # fmt: skip
        assert props is not None and props.error_name == errors.UNKNOWN_METHOD
        await close(client_bus)
        await close(server)

    asyncio.run(scenario())


def test_checked_in_introspection_matches_code() -> None:
    checked_in = REPO / "packaging/dbus/interfaces/org.smoothdesk.Helper1.xml"
    assert checked_in.read_text(encoding="utf-8") == node_xml(), (
        "regenerate with: python -m smoothdesk.dbus.introspection > " + str(checked_in)
    )


CLIENT = """
import asyncio, json, sys
from dbus_fast.aio import MessageBus
from smoothdesk.dbus.client import HelperClient
from smoothdesk.dbus.errors import BusError

async def main():
    client = HelperClient(await MessageBus(bus_address=sys.argv[1]).connect())
    out = {"status": (await client.status())["ticks"]}
    for name, call in (("set", client.set_class("make", "idle", 0.0)), ("pause", client.pause(0.0))):
        try:
            await call
            out[name] = "ok"
        except BusError as exc:
            out[name] = exc.name
    print(json.dumps(out))

asyncio.run(main())
"""


@pytest.mark.root
def test_other_uid_can_read_but_not_change(bus_address: str) -> None:
    async def scenario() -> dict[str, Any]:
        api = RecordingApi()
        server = await serve(bus_address, api)

        exe, env = unprivileged_python()
        proc = await asyncio.create_subprocess_exec(
            exe,
            "-c",
            CLIENT,
            bus_address,
            stdout=subprocess.PIPE,
            preexec_fn=drop_to_nobody,
            cwd="/",
            env=env,
        )
        out, _ = await proc.communicate()
        await close(server)
        result: dict[str, Any] = json.loads(out)
        result["calls"] = api.calls
        return result

    result = asyncio.run(scenario())
    assert result["status"] == 3
    assert result["set"] == errors.ACCESS_DENIED
    assert result["pause"] == errors.ACCESS_DENIED
    assert result["calls"] == []
