"""Polkit authorization for the system-bus helper: asks polkitd, caches answers, fails closed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from smoothdesk.dbus import errors
from smoothdesk.dbus.identity import on_name_lost

log = logging.getLogger(__name__)

POLKIT_NAME = "org.freedesktop.PolicyKit1"
POLKIT_PATH = "/org/freedesktop/PolicyKit1/Authority"
POLKIT_INTERFACE = "org.freedesktop.PolicyKit1.Authority"

READ = "org.smoothdesk.read"
ADJUST_OWN = "org.smoothdesk.adjust-own"
DEMOTE_OWN = "org.smoothdesk.demote-own"
ADJUST_ANY = "org.smoothdesk.adjust-any"
MANAGE = "org.smoothdesk.manage"

ACTIONS: dict[str, str] = {
    "SetClass": ADJUST_OWN,
    "ClearClass": ADJUST_OWN,
    "Pause": MANAGE,
    "Resume": MANAGE,
    "ReloadRules": MANAGE,
    "AddRule": MANAGE,
    "DeleteRule": MANAGE,
    "ImportAnanicy": MANAGE,
}
"""Mutating method -> polkit action. SetClass and ClearClass are refined by the adaptor from the
app's owner (demote-own, adjust-own or adjust-any); session-agent reports need no action."""

_NO_INTERACTION = 0  # a daemon has no authentication agent: never ask polkit to prompt


class PolkitAuthorizer:
    """Authorizer for the system bus: uid 0 always, everyone else as polkitd says.

    Answers (yes and no) are cached per (unique bus name, action) for `ttl` seconds, at most
    `max_entries` of them. Failures to ask polkitd (absent, timeout, malformed reply) deny and are
    not cached, so a polkitd that comes back is asked again.
    """

    def __init__(
        self,
        bus: MessageBus,
        *,
        timeout: float = 5.0,
        ttl: float = 30.0,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bus = bus
        self.timeout = timeout
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self.queries = 0
        self._cache: OrderedDict[tuple[str, str], tuple[bool, bool, float]] = OrderedDict()

    def start(self) -> None:
        """Forget a bus name's answers when it leaves the bus."""
        on_name_lost(self.bus, self.forget)

    def forget(self, name: str) -> None:
        for key in [k for k in self._cache if k[0] == name]:
            del self._cache[key]

    async def authorize(self, sender: str, uid: int, method: str) -> None:
        if uid == 0:
            return
        action = ACTIONS.get(method)
        if action is None:
            raise errors.AccessDenied(f"{method}: no polkit action is defined for it")
        await self.authorize_action(sender, action, uid=uid, what=method)

    async def authorize_action(self, sender: str, action_id: str, *, uid: int = -1, what: str = "") -> None:
        """Raise errors.AccessDenied unless polkit allows `sender` the action (root always may)."""
        what = what or action_id
        if uid == 0:
            return
        if not sender:
            raise errors.AccessDenied(f"{what}: caller has no bus name")
        allowed, challenge = await self._answer(sender, action_id)
        if allowed:
            return
        if challenge:
            raise errors.AccessDenied(
                f"{what}: polkit action {action_id} needs administrator authentication, "
                "which the helper cannot ask for; use sudo or a polkit rule"
            )
        raise errors.AccessDenied(f"{what}: not authorized by polkit ({action_id})")

    async def _answer(self, sender: str, action_id: str) -> tuple[bool, bool]:
        key = (sender, action_id)
        now = self.clock()
        cached = self._cache.get(key)
        if cached is not None and cached[2] > now:
            self._cache.move_to_end(key)
            return cached[0], cached[1]
        allowed, challenge = await self._check(sender, action_id)
        self._cache[key] = (allowed, challenge, now + self.ttl)
        self._cache.move_to_end(key)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        return allowed, challenge

    async def _check(self, sender: str, action_id: str) -> tuple[bool, bool]:
        self.queries += 1
        subject = ["system-bus-name", {"name": Variant("s", sender)}]
        call = Message(
            destination=POLKIT_NAME,
            path=POLKIT_PATH,
            interface=POLKIT_INTERFACE,
            member="CheckAuthorization",
            signature="(sa{sv})sa{ss}us",
            body=[subject, action_id, {}, _NO_INTERACTION, ""],
        )
        try:
            reply = await asyncio.wait_for(self.bus.call(call), self.timeout)
        except TimeoutError:
            log.warning("polkit did not answer within %gs for %s", self.timeout, action_id)
            raise errors.AccessDenied(f"{action_id}: polkit did not answer; refused") from None
        except Exception as exc:  # a broken bus must deny, never crash the dispatcher
            log.warning("asking polkit for %s failed: %s", action_id, exc)
            raise errors.AccessDenied(f"{action_id}: polkit could not be asked; refused") from None
        if reply is None or reply.message_type != MessageType.METHOD_RETURN:
            reason = reply.error_name if reply is not None else "no reply"
            log.warning("polkit refused to answer for %s: %s", action_id, reason)
            raise errors.AccessDenied(f"{action_id}: polkit is not available ({reason}); refused")
        body = reply.body
        if (
            reply.signature != "(bba{ss})"
            or not isinstance(body[0][0], bool)
            or not isinstance(body[0][1], bool)
        ):
            log.warning("malformed polkit reply (%s) for %s", reply.signature, action_id)
            raise errors.AccessDenied(f"{action_id}: malformed answer from polkit; refused")
        return body[0][0], body[0][1]
