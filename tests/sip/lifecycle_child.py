"""A process that starts and stops the SIP stack, for tests that check how such a process exits.

    python -m tests.sip.lifecycle_child MODE PORT

MODE: "stop" (start, send an INVITE nobody answers, stop), "main-import" (the same, with sippy imported on
the main thread first), "no-stop" (start and exit without stopping), "imports" (print the sippy modules that
importing the public sip modules loads: there must be none).
"""

from __future__ import annotations

import asyncio
import socket
import sys

from sip.legs import InboundLeg, OutboundInvite
from sip.registration import RegisterRequest, RegisterResponse
from sip.stack import SipStack

SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"


class Nobody:
    async def on_invite(self, leg: InboundLeg) -> None:
        await leg.reject(480, "Temporarily Unavailable")

    async def on_register(self, request: RegisterRequest) -> RegisterResponse:
        return RegisterResponse(403, "Forbidden")


async def run(mode: str, port: int) -> None:
    stack = SipStack(host="127.0.0.1", port=port)
    await stack.start(Nobody())
    # An INVITE still in progress (retransmitting) when the stack stops: to a bound, silent socket (a closed
    # port would fail it at once with the ICMP error).
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    nobody = f"sip:nobody@127.0.0.1:{silent.getsockname()[1]}"
    await stack.invite(OutboundInvite(nobody, nobody, "1", None, SDP), lambda event: None)
    await asyncio.sleep(0.05)
    if mode != "no-stop":
        await stack.stop()


def main() -> None:
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "imports":
        import sip  # the package exports the stack, legs and events
        import sip.destination
        import sip.stack  # noqa: F401

        print(",".join(sorted(name for name in sys.modules if name.split(".")[0] in ("sippy", "elperiodic"))))
        return
    if mode == "main-import":
        import sippy.UA  # noqa: F401  (creates ED2 on this, the main, thread)
    asyncio.run(run(mode, port))


if __name__ == "__main__":
    main()
