"""<Gather>: collect key presses while (optionally) playing prompts, then hand them to the application.

Nested <Say>, <Play> and <Pause> (built with the <Gather>) run in order and stop at the first key. After
them the caller has `timeout` seconds for each further key. Gathering ends at `numDigits` keys, at
`finishOnKey` (not part of the digits), or at the timeout. With digits, the application's `action` (by
default the current document) is requested with `Digits` and its document runs; without, the document
goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import ClassVar
from urllib.parse import urljoin

from rcml.call_control import CallControl
from rcml.verbs.base import (
    Attribute,
    Continue,
    Outcome,
    Redirect,
    Verb,
    boolean,
    finish_keys,
    http_method,
    non_negative_int,
    positive_int,
)


def gather_input(raw: str) -> str:
    """TwiML's `input`: `dtmf`, `speech`, or both (`dtmf speech`), in any order."""
    parts = raw.split()
    if not parts or any(part not in ("dtmf", "speech") for part in parts):
        raise ValueError("must be dtmf, speech or dtmf speech")
    return "speech" if parts == ["speech"] else "dtmf"


# The verbs <Gather> may hold; rcml/verbs/table.py builds them with it.
NESTABLE = ("Say", "Play", "Pause")


class Gather(Verb):
    name: ClassVar[str] = "Gather"
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("action", str, default=None, error_code=13310),
        Attribute("method", http_method, default="POST", error_code=13312),
        Attribute("timeout", non_negative_int, default=5, error_code=13313),
        Attribute("finishOnKey", finish_keys, default="#", error_code=13314),
        Attribute("numDigits", positive_int, default=None, error_code=13315),
        # TwiML's: request the action even when nothing was pressed (with Digits empty), instead of going on.
        Attribute("actionOnEmptyResult", boolean, default=False, error_code=13316),
        # TwiML's: which input to take. Keys are always gathered; speech is not recognised here.
        Attribute("input", gather_input, default="dtmf", error_code=13317),
    )

    async def run(self, call: CallControl) -> Outcome:
        await call.answer()
        if self.values["input"] == "speech":
            await call.warn(13317, "<Gather input=\"speech\">: speech is not recognised by this server; "
                                   "gathering keys only")
        call.clear_digits()
        digits = await self._prompt_until_first_key(call)
        finished = digits is not None and digits in self.values["finishOnKey"]
        collected = "" if digits is None or finished else digits
        while not finished and not self._enough(collected):
            key = await call.next_digit(self.values["timeout"])
            if key is None:
                break
            if key in self.values["finishOnKey"]:
                finished = True
            else:
                collected += key
        if not collected and not self.values["actionOnEmptyResult"]:
            return Continue()
        action = urljoin(call.document_url, self.values["action"] or call.document_url)
        return Redirect(action, self.values["method"], {"Digits": collected})

    def _enough(self, collected: str) -> bool:
        wanted = self.values["numDigits"]
        return wanted is not None and len(collected) >= wanted

    async def _prompt_until_first_key(self, call: CallControl) -> str | None:
        """Run the nested verbs; the first key pressed stops them and is returned (None if none was)."""
        prompts = asyncio.ensure_future(self._run_nested(call))
        first_key = asyncio.ensure_future(call.next_digit(float("inf")))
        try:
            await asyncio.wait({prompts, first_key}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (prompts, first_key):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        if first_key.done() and not first_key.cancelled():
            return first_key.result()
        prompts.result()  # a nested verb's own error, if it had one
        return None

    async def _run_nested(self, call: CallControl) -> None:
        for verb in self.nested:
            await verb.run(call)
