"""<Redirect>: stop this document and run the one at its URL (requested with the call's parameters)."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urljoin

from rcml.call_control import CallControl
from rcml.verbs.base import Attribute, Continue, Outcome, Redirect, Verb, http_method


class RedirectVerb(Verb):
    """Named apart from `Redirect`, the outcome that every verb switching documents returns."""

    name: ClassVar[str] = "Redirect"
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("method", http_method, default="POST", error_code=13410),
    )

    async def run(self, call: CallControl) -> Outcome:
        target = self.node.text
        if not target:
            await call.warn(13411, "<Redirect> has no URL; the document goes on")
            return Continue()
        return Redirect(urljoin(call.document_url, target), self.values["method"])
