"""PolkitAuthorizer: its cache and failure modes on a scripted polkit, then with the real polkitd.

Without logind nobody here is in an active session, so polkitd uses allow_any: adjust-own and
manage both resolve to auth_admin(_keep), i.e. "not authorized, challenge" for nobody. That is
the expected answer in this environment, not a polkit failure.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from smoothdesk.dbus import errors
from smoothdesk.dbus.names import BUS_NAME
from smoothdesk.dbus.polkit import (
    ADJUST_ANY,
    DEMOTE_OWN,
    MANAGE,
    POLKIT_NAME,
    PolkitAuthorizer,
)
from smoothdesk.dbus.service import HelperService
from tests.support.polkit import installed_policy, polkit_system_bus, system_bus
from tests.support.users import drop_to_nobody, unprivileged_python

Reply = Callable[[Message], Message | None]


class ScriptedPolkit:
    """A stand-in org.freedesktop.PolicyKit1 on a real bus that counts and records its calls."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.calls: list[list[Any]] = []
        self.bus: MessageBus | None = None

    async def serve(self, address: str) -> MessageBus:
        self.bus = await MessageBus(bus_address=address).connect()
        await self.bus.request_name(POLKIT_NAME)
        self.bus.add_message_handler(self._on_message)
        return self.bus

    def _on_message(self, msg: Message) -> bool | None:
        if msg.message_type != MessageType.METHOD_CALL or msg.member != "CheckAuthorization":
            return None
        self.calls.append(list(msg.body))
        reply = self.reply(msg)
        if reply is not None and self.bus is not None:
            self.bus.send(reply)
        return True


def answer(allowed: bool, challenge: bool = False) -> Reply:
    return lambda m: Message.new_method_return(m, "(bba{ss})", [[allowed, challenge, {}]])


async def close(bus: MessageBus) -> None:
    bus.disconnect()
    await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]


def run_scripted(
    address: str, reply: Reply, body: Callable[[PolkitAuthorizer, MessageBus], Awaitable[None]]
) -> ScriptedPolkit:
    fake = ScriptedPolkit(reply)

    async def scenario() -> None:
        polkit = await fake.serve(address)
        helper = await MessageBus(bus_address=address).connect()
        try:
            await body(PolkitAuthorizer(helper, timeout=0.5), helper)
        finally:
            await close(helper)
            await close(polkit)

    asyncio.run(scenario())
    return fake


def test_answers_are_cached_per_name_and_action(bus_address: str) -> None:
    async def body(auth: PolkitAuthorizer, bus: MessageBus) -> None:
        await auth.authorize(":1.42", 1000, "SetClass")
        await auth.authorize(":1.42", 1000, "ClearClass")  # same action: cached
        await auth.authorize(":1.42", 1000, "Pause")  # another action: asked
        await auth.authorize(":1.43", 1000, "Pause")  # another name: asked
        assert auth.queries == 3
        auth.forget(":1.42")
        await auth.authorize(":1.42", 1000, "SetClass")
        assert auth.queries == 4
        await auth.authorize(":1.99", 0, "Pause")  # root: polkit is not asked
        await auth.authorize_action(":1.99", ADJUST_ANY, uid=0)
        assert auth.queries == 4

    fake = run_scripted(bus_address, answer(True), body)
    assert len(fake.calls) == 4
    subject, action, details, flags, cancel = fake.calls[0]
    assert subject[0] == "system-bus-name" and subject[1]["name"].value == ":1.42"
    assert (action, details, flags, cancel) == ("org.smoothdesk.adjust-own", {}, 0, "")


def test_negative_answers_are_cached_and_explained(bus_address: str) -> None:
    async def body(auth: PolkitAuthorizer, bus: MessageBus) -> None:
        for _ in range(3):
            with pytest.raises(errors.AccessDenied, match="administrator authentication"):
                await auth.authorize(":1.7", 1000, "ReloadRules")
        assert auth.queries == 1
        with pytest.raises(errors.AccessDenied, match="no polkit action"):
            await auth.authorize(":1.7", 1000, "Explode")

    fake = run_scripted(bus_address, answer(False, challenge=True), body)
    assert [c[1] for c in fake.calls] == [MANAGE]


def test_leaving_the_bus_forgets_the_answer(bus_address: str) -> None:
    async def body(auth: PolkitAuthorizer, bus: MessageBus) -> None:
        auth.start()
        caller = await MessageBus(bus_address=bus_address).connect()
        name = caller.unique_name
        assert name is not None
        await auth.authorize(name, 1000, "Pause")
        await close(caller)
        for _ in range(100):
            if not auth._cache:
                break
            await asyncio.sleep(0.02)
        assert auth._cache == {}

    run_scripted(bus_address, answer(True), body)


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(lambda m: Message.new_method_return(m, "b", [True]), id="malformed"),
        pytest.param(lambda m: Message.new_error(m, "org.example.Boom", "x"), id="error"),
        pytest.param(lambda m: None, id="silent"),
    ],
)
def test_failures_deny_and_are_not_cached(bus_address: str, reply: Reply) -> None:
    async def body(auth: PolkitAuthorizer, bus: MessageBus) -> None:
        for _ in range(2):
            with pytest.raises(errors.AccessDenied, match="refused") as caught:
                await auth.authorize(":1.5", 1000, "Pause")
            assert "Traceback" not in str(caught.value)
        assert auth.queries == 2

    run_scripted(bus_address, reply, body)


def test_absent_polkit_denies_everyone_but_root(bus_address: str) -> None:
    async def scenario() -> None:
        bus = await MessageBus(bus_address=bus_address).connect()
        auth = PolkitAuthorizer(bus)
        with pytest.raises(errors.AccessDenied, match="not available"):
            await auth.authorize(":1.5", 1000, "SetClass")
        await auth.authorize(":1.5", 0, "SetClass")
        await close(bus)

    asyncio.run(scenario())


class RecordingApi:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def status(self) -> dict[str, Any]:
        return {"paused": False}

    def apps(self) -> list[dict[str, Any]]:
        return []

    def app(self, ref: str) -> dict[str, Any]:
        raise errors.NotFound(ref)

    def rules(self) -> list[dict[str, Any]]:
        return []

    def app_owner(self, ref: str) -> int:
        return 0  # "make" is root's: nobody needs adjust-any to pin it

    def set_class(self, caller_uid: int, ref: str, class_name: str, duration: float) -> None:
        self.calls.append(("set_class", caller_uid, ref, class_name))

    def clear_class(self, caller_uid: int, ref: str) -> None:
        self.calls.append(("clear_class", caller_uid, ref))

    def pause(self, caller_uid: int, duration: float) -> None:
        self.calls.append(("pause", caller_uid))

    def resume(self, caller_uid: int) -> None:
        self.calls.append(("resume", caller_uid))

    def reload_rules(self, caller_uid: int) -> list[str]:
        self.calls.append(("reload_rules", caller_uid))
        return []


CLIENT = """
import asyncio, json, sys
from dbus_fast.aio import MessageBus
from smoothdesk.dbus.client import HelperClient
from smoothdesk.dbus.errors import BusError

async def main():
    bus = await MessageBus(bus_address=sys.argv[1]).connect()
    client = HelperClient(bus)
    out = {"status": (await client.status())["paused"]}
    calls = (("set", client.set_class("make", "idle", 0.0)), ("pause", client.pause(0.0)),
             ("reload", client.reload_rules()))
    for name, call in calls:
        try:
            await call
            out[name] = "ok"
        except BusError as exc:
            out[name] = exc.name
    print(json.dumps(out))
    bus.disconnect()
    await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]

asyncio.run(main())
"""


class RecordingAuthorizer(PolkitAuthorizer):
    """Keeps every answer polkitd really gave (failures raise, so they are not recorded)."""

    answers: set[tuple[str, bool, bool]]

    async def _check(self, sender: str, action_id: str) -> tuple[bool, bool]:
        allowed, challenge = await super()._check(sender, action_id)
        self.answers.add((action_id, allowed, challenge))
        return allowed, challenge


Outcome = tuple[dict[str, Any], list[tuple[Any, ...]], set[tuple[str, bool, bool]]]


def call_helper(address: str, as_nobody: bool) -> Outcome:
    """Serve the helper with PolkitAuthorizer on `address`; run the client as nobody or root.

    Returns the client's results, what reached the API, and the answers polkitd gave.
    """

    async def scenario() -> Outcome:
        api = RecordingApi()
        server = await MessageBus(bus_address=address).connect()
        await server.request_name(BUS_NAME)
        auth = RecordingAuthorizer(server)
        auth.answers = set()
        auth.start()
        HelperService(server, api, auth).start()
        exe, env = unprivileged_python()
        proc = await asyncio.create_subprocess_exec(
            exe, "-c", CLIENT, address, stdout=subprocess.PIPE, cwd="/", env=env,
            preexec_fn=drop_to_nobody if as_nobody else None,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        await close(server)
        return json.loads(out), api.calls, auth.answers

    return asyncio.run(scenario())


DENIED = {"status": False, "set": errors.ACCESS_DENIED, "pause": errors.ACCESS_DENIED,
          "reload": errors.ACCESS_DENIED}  # fmt: skip
ALLOWED = {"status": False, "set": "ok", "pause": "ok", "reload": "ok"}


@pytest.mark.root
def test_real_polkitd_knows_the_actions() -> None:
    with polkit_system_bus() as address:
        out = subprocess.run(
            ["pkaction", "--verbose", "--action-id", MANAGE],
            env={"DBUS_SYSTEM_BUS_ADDRESS": address, "PATH": "/usr/bin:/bin"},
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        demote = subprocess.run(
            ["pkaction", "--verbose", "--action-id", DEMOTE_OWN],
            env={"DBUS_SYSTEM_BUS_ADDRESS": address, "PATH": "/usr/bin:/bin"},
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
    assert out.stdout.startswith(f"{MANAGE}:")
    assert "implicit active:   auth_admin_keep" in out.stdout
    # Lowering your own app is no more than nice(1) allows anyone: yes, even without a session.
    assert "implicit any:      yes" in demote.stdout, demote.stdout


@pytest.mark.root
def test_real_polkitd_denies_nobody_and_allows_root() -> None:
    with polkit_system_bus() as address:
        nobody, nobody_calls, answers = call_helper(address, as_nobody=True)
        root, root_calls, root_answers = call_helper(address, as_nobody=False)
    assert nobody == DENIED
    assert nobody_calls == []
    # polkitd really answered (failures are not cached): not authorized, admin challenge.
    assert answers == {(ADJUST_ANY, False, True), (MANAGE, False, True)}
    assert root == ALLOWED
    assert root_answers == set()  # root is never asked about
    assert [c[0] for c in root_calls] == ["set_class", "pause", "reload_rules"]


@pytest.mark.root
def test_without_polkitd_only_root_may_change_anything() -> None:
    with system_bus() as address, installed_policy():
        nobody, nobody_calls, answers = call_helper(address, as_nobody=True)
        root, root_calls, _ = call_helper(address, as_nobody=False)
    assert nobody == DENIED and nobody_calls == [] and answers == set()
    assert root == ALLOWED and len(root_calls) == 3
