"""Persistence: Tortoise models, database start and stop, and the queries worth naming."""

from models.account import Account, AccountRole, AccountStatus
from models.call import Call, CallStatus, Direction, HttpMethod
from models.notification import LogLevel, Notification
from models.recording import Recording

__all__ = [
    "Account",
    "AccountRole",
    "AccountStatus",
    "Call",
    "CallStatus",
    "Direction",
    "HttpMethod",
    "LogLevel",
    "Notification",
    "Recording",
]
