"""A string of key presses sent into a call, in Twilio's notation: `w` waits half a second, `W` a second, every
other character is one RFC 4733 key press (160 ms each, one after the other). The whole string goes out as one
schedule (RtpEndpoint.send_dtmf_sequence), so the waits are on the media timeline the far end hears.

One sender for every place that dials keys: <Play digits>, the Twilio dialect's SendDigits (after the callee
answers) and <Number sendDigits> (to the dialled party before it is bridged). Each caller checks its own
alphabet first (`key_string`), as Twilio's documents differ on whether A-D and `W` are allowed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

PAUSES = {"w": 0.5, "W": 1.0}  # seconds
KEYS = "0123456789*#"
KEYS_WITH_LETTERS = KEYS + "ABCD"


class KeyPad(Protocol):
    """What sends key presses: an RTP endpoint (sip/media/endpoint.py), or a call's media in rcml."""

    async def send_dtmf_sequence(self, presses: Sequence[tuple[float, str]]) -> None:
        """Each `(pause, digit)`: the key, `pause` seconds after the key before it."""


def key_string(raw: str, keys: str = KEYS, pauses: str = "w", *, most: int | None = None) -> str:
    """`raw` if every character is one of `keys` or `pauses` (and there are at most `most`); ValueError naming
    what is allowed otherwise."""
    allowed = set(keys) | set(pauses)
    if not raw or any(ch not in allowed for ch in raw) or (most is not None and len(raw) > most):
        waits = " and ".join(f"{p} ({PAUSES[p]:g} s wait)" for p in pauses)
        limit = f", at most {most} of them" if most is not None else ""
        raise ValueError(f"must be keys {keys} with {waits}{limit}")
    return raw


async def send_keys(pad: KeyPad, keys: str) -> None:
    """Sends `keys` in order; returns once the last one has been sent, and the waits after it are over.
    Cancelling stops it at once (a key being pressed then gets no end packet, as with send_dtmf)."""
    presses: list[tuple[float, str]] = []
    pause = 0.0
    for key in keys:
        if key in PAUSES:
            pause += PAUSES[key]
        else:
            presses.append((pause, key))
            pause = 0.0
    if presses:
        await pad.send_dtmf_sequence(presses)
    if pause:  # waits after the last key: nothing to send, but what comes next waits as the string says
        await asyncio.sleep(pause)
