"""Authorizers: who may change things. User mode: the helper's own uid and root only."""

from __future__ import annotations

from smoothdesk.dbus import errors


class SameUserAuthorizer:
    """Session-bus rule: only the uid running the helper (or root) may change anything."""

    def __init__(self, owner_uid: int) -> None:
        self.owner_uid = owner_uid

    async def authorize(self, sender: str, uid: int, method: str) -> None:
        if uid < 0 or uid not in (self.owner_uid, 0):
            raise errors.AccessDenied(
                f"{method}: uid {uid} may not change a helper run by uid {self.owner_uid}"
            )

    async def authorize_action(self, sender: str, action_id: str, *, uid: int = -1, what: str = "") -> None:
        await self.authorize(sender, uid, what or action_id)
