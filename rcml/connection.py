"""What a live call's media is connected to by its RCML: the bridge of a <Dial>, or a conference room.

A live modification that concerns more than the call itself goes through its connection: `Mute` (the
others stop hearing this leg), a redirect (this leg leaves, without being hung up), and
`MoveConnectedCallLeg` (the connected leg leaves too, and runs the same new document). The owner holds
its connection while the verb that made it runs; the verb clears it on the way out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rcml.owner import CallOwner


class Connection(Protocol):
    async def set_muted(self, owner: CallOwner, muted: bool) -> None:
        """Whether the other side(s) hear `owner`'s leg."""

    def partner_of(self, owner: CallOwner) -> CallOwner | None:
        """The leg that moves with `owner` under MoveConnectedCallLeg, if there is one."""

    def release(self, owner: CallOwner) -> None:
        """`owner` leaves the connection now because it runs another document; it is not hung up."""
