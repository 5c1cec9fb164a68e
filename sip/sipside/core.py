"""The SIP side of the stack: one transaction manager, its request routing, and the live dialogs.

Built and used only in the SIP thread. It reaches asyncio only through the `outlet` it is given, whose
methods post to the loop (see `sip.stack`).
"""

from __future__ import annotations

import logging
from typing import Any

from sippy.Core.EventDispatcher import ED2
from sippy.SipConf import SipConf
from sippy.SipHeader import SipHeader
from sippy.Udp_server import Udp_server_opts

from sip import digest
from sip.flood import InviteRate, source_key
from sip.legs import OutboundInvite, next_leg_key
from sip.outlet import Outlet
from sip.registration import RegisterResponse
from sip.sipside import output
from sip.sipside.dialogs import Dialog
from sip.sipside.registrar import RegisterTransactions
from sip.sipside.transactions import TransactionManager
from sip.wire import WireTap

logger = logging.getLogger("sip")

ALLOWED_METHODS = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REGISTER"
# Methods that only make sense inside a dialog: without one they get 481 (RFC 3261 15.1.2, 12.2.2).
_DIALOG_ONLY = frozenset({"BYE", "INFO", "PRACK", "UPDATE"})
# Methods we know and do not serve: 405 with Allow. Anything else is 501 Not Implemented.
_KNOWN = frozenset({"MESSAGE", "SUBSCRIBE", "NOTIFY", "PUBLISH", "REFER"})
# How long stopping may wait for the sender thread to flush the final BYEs, CANCELs and responses.
FLUSH_WAIT_S = 0.2
LEG_ACTIONS = frozenset({"ring", "answer", "reject", "hangup"})


class SipCore:
    def __init__(self, *, host: str, port: int, user_agent: str, timer_b: float, timer_h: float,
                 signer: digest.NonceSigner, outlet: Outlet, invite_rate: InviteRate | None = None,
                 tap: WireTap | None = None) -> None:
        # Three sender threads (sippy's default) reorder back-to-back datagrams: a 180 overtaking its 200 OK.
        Udp_server_opts.nworkers = 1
        SipConf.my_uaname = user_agent
        self._user_agent = user_agent
        self._outlet = outlet
        self.config: dict[str, Any] = {"_sip_address": host, "_sip_port": port, "_sip_logger": output.MessageLog(tap)}
        self.tm = TransactionManager(self.config, self._receive, timer_b=timer_b, timer_h=timer_h)
        self.config["_sip_tm"] = self.tm
        self.registrar = RegisterTransactions(self.tm, outlet, signer, user_agent)
        self.dialogs: dict[int, Dialog] = {}
        self.draining = False
        self.invite_rate = invite_rate or InviteRate(0)
        for server in self.tm.l4r.cache_l2s.values():
            # Reported from sippy's receiver or sender thread: handled in the SIP thread.
            server.skt.unreachable = lambda address, code: ED2.callFromThread(self._unreachable, address, code)
        # After every sippy module in use is imported, so their prints are all caught.
        output.route_sippy_output()

    @property
    def address(self) -> tuple[str, int]:
        return self.tm.local_address

    # -- called from the loop through the reactor ---------------------------------------------------------

    def place(self, key: int, invite: OutboundInvite, call_id: str) -> None:
        dialog = self._dialog(key, inbound=False)
        dialog.place(invite, call_id)
        self.dialogs[key] = dialog

    def act(self, key: int, action: str, args: tuple) -> None:
        if action not in LEG_ACTIONS:
            raise ValueError(f"unknown leg action {action!r}")
        dialog = self.dialogs.get(key)
        if dialog is not None:
            getattr(dialog, action)(*args)

    def set_draining(self, draining: bool) -> None:
        self.draining = draining

    def set_timer_h(self, seconds: float) -> None:
        self.tm.timer_h = seconds

    def reply_register(self, token: int, response: RegisterResponse) -> None:
        self.registrar.reply(token, response)

    def end_all(self) -> set[int]:
        """Before stopping: BYE or CANCEL every live call, 487 every unanswered one, 503 pending REGISTERs.

        Returns the legs whose CANCEL is out and awaits the far end's answer.
        """
        for dialog in list(self.dialogs.values()):
            try:
                dialog.hang_up_now()
            except Exception:
                logger.debug("hanging up leg %s on stop failed", dialog.key, exc_info=True)
        self.registrar.fail_all(503, "Service Unavailable")
        return {key for key, dialog in self.dialogs.items() if dialog.cancel_under_way}

    def close(self) -> None:
        # sippy shuts the socket before its sender thread drains the queue, which would lose the last BYEs,
        # ACKs and responses: let the sender put them on the wire first.
        self.tm.wait_sent(FLUSH_WAIT_S)
        self.tm.shutdown()

    # -- requests no dialog claimed -------------------------------------------------------------------------

    def _receive(self, req: Any, t: Any) -> Any:
        try:
            return self._route(req, t)
        except Exception:
            # Whatever made it unreadable, the peer gets an answer and the reactor carries on.
            logger.debug("could not handle a %s request", req.getMethod(), exc_info=True)
            return self._respond(req, 400, "Bad Request")

    def _route(self, req: Any, t: Any) -> Any:
        method = req.getMethod()
        if self.tm.repeated_header is not None:
            return self._respond(req, 400, f"Bad Request (two {self.tm.repeated_header} headers)")
        if req.getHFBody("to").getTag() is not None or method in _DIALOG_ONLY:
            return self._respond(req, 481, "Call/Transaction Does Not Exist")
        if self.draining and method in ("INVITE", "OPTIONS"):
            # RFC 3261 21.5.4: the server is temporarily unable to take the request; try another node.
            return self._respond(req, 503, "Service Unavailable", allow=method == "OPTIONS")
        if method == "INVITE":
            wait = self.invite_rate.admit(self._flood_key(req))
            if wait is not None:
                # Too many new dialogs from this address: refused before anything is made for them.
                resp, _, _ = self._respond(req, 503, "Service Unavailable")
                resp.appendHeader(SipHeader(name="retry-after", bodys=str(wait)))
                return resp, None, None
            key = next_leg_key()
            dialog = self.dialogs[key] = self._dialog(key, inbound=True)
            try:
                return dialog.accept(req, t)
            except Exception:
                self._forget(key)
                raise
        if method == "REGISTER":
            return self.registrar.receive(req, t)
        if method == "OPTIONS":
            return self._respond(req, 200, "OK", allow=True)
        if method in _KNOWN:
            return self._respond(req, 405, "Method Not Allowed", allow=True)
        return self._respond(req, 501, "Not Implemented", allow=True)

    def _flood_key(self, req: Any) -> str:
        """Whom a new INVITE counts against (sip/flood.py): for one relayed by a trusted proxy, the address the
        proxy got it from, as the Via below the proxy's records it."""
        source = req.getSource()
        relayed_from = None
        if source[0] in self.invite_rate.trusted_proxies:
            vias = req.getHFBodys("via")
            if len(vias) > 1:
                relayed_from = vias[1].getTAddr()[0]
        return source_key(source, relayed_from, trusted_proxies=self.invite_rate.trusted_proxies)

    def _respond(self, req: Any, code: int, reason: str, *, allow: bool = False) -> tuple[Any, None, None]:
        resp = req.genResponse(code, reason, server=self._user_agent)
        if allow:
            resp.appendHeader(SipHeader(name="allow", bodys=ALLOWED_METHODS))
        return resp, None, None

    def _unreachable(self, address: tuple[str, int], code: int) -> None:
        """The kernel says nothing listens at `address` (ICMP): the INVITEs sent there and not answered fail now."""
        for dialog in list(self.dialogs.values()):
            dialog.destination_unreachable(address, code)

    def _dialog(self, key: int, *, inbound: bool) -> Dialog:
        return Dialog(key, self.config, self._outlet, self._forget, self._user_agent, inbound=inbound)

    def _forget(self, key: int) -> None:
        self.dialogs.pop(key, None)
