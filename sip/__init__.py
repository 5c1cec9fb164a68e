"""SIP: the only package that imports sippy (its reactor thread, legs, registrar) and what SIP addressing needs."""

from sip.events import Answered, Dtmf, Ended, Failed, LegEvent, Ringing
from sip.legs import InboundLeg, OutboundInvite, OutboundLeg
from sip.reactor import StackStopped
from sip.registration import RegisterRequest, RegisterResponse
from sip.stack import InboundHandler, SipStack

__all__ = [
    "Answered", "Dtmf", "Ended", "Failed", "InboundHandler", "InboundLeg", "LegEvent", "OutboundInvite",
    "OutboundLeg", "RegisterRequest", "RegisterResponse", "Ringing", "SipStack", "StackStopped",
]
