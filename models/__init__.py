"""Persistence: Tortoise models, database start and stop, and the queries worth naming."""

from models.account import Account, AccountRole, AccountStatus
from models.call import Call, CallStatus, Direction, HttpMethod
from models.client import Client, ClientStatus, Registration
from models.conference import Conference, ConferenceStatus, Participant
from models.notification import LogLevel, Notification
from models.phone_number import IncomingPhoneNumber
from models.recording import Recording

__all__ = [
    "Account",
    "AccountRole",
    "AccountStatus",
    "Call",
    "CallStatus",
    "Client",
    "ClientStatus",
    "Conference",
    "ConferenceStatus",
    "Direction",
    "HttpMethod",
    "IncomingPhoneNumber",
    "LogLevel",
    "Notification",
    "Participant",
    "Recording",
    "Registration",
]
