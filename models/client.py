"""Clients: SIP users of an account that register with this server and can be called as `client:login`."""

from __future__ import annotations

import hashlib

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models import clock, sids

# Digest realm of every REGISTER and challenge. Fixed, because the stored HA1 hashes depend on it.
SIP_REALM = "restcomm"


class ClientStatus:
    """RestComm writes a client's status as "1" (enabled) or "0" (disabled); clients expect those strings."""

    ENABLED = "1"
    DISABLED = "0"


def digest_ha1(login: str, password: str, realm: str = SIP_REALM) -> str:
    """MD5(login:realm:password), what a registrar needs to check digest answers without the password."""
    return hashlib.md5(f"{login}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()


class Client(Model):
    sid = fields.CharField(max_length=sids.SID_LENGTH, primary_key=True)
    account_sid = fields.CharField(max_length=sids.SID_LENGTH)
    date_created = fields.DatetimeField()
    date_updated = fields.DatetimeField()
    friendly_name = fields.CharField(max_length=64)
    # The SIP user name; unique on this server because REGISTER carries no account.
    login = fields.CharField(max_length=64, unique=True)
    # The password is never stored: only the digest hash a registrar needs.
    password_ha1 = fields.CharField(max_length=32)
    status = fields.CharField(max_length=1, default=ClientStatus.ENABLED)
    voice_url = fields.CharField(max_length=2048, null=True)
    voice_method = fields.CharField(max_length=8, default="POST")
    voice_fallback_url = fields.CharField(max_length=2048, null=True)
    voice_fallback_method = fields.CharField(max_length=8, default="POST")

    class Meta:
        table = "clients"
        indexes = (Index(fields=("account_sid", "date_created", "sid"), name="clients_account_page"),)

    @property
    def enabled(self) -> bool:
        return self.status == ClientStatus.ENABLED

    def set_password(self, password: str) -> None:
        self.password_ha1 = digest_ha1(self.login, password)


class Registration(Model):
    """One registered contact of a client (a client may register several devices)."""

    id = fields.IntField(primary_key=True)
    client_sid = fields.CharField(max_length=sids.SID_LENGTH)
    login = fields.CharField(max_length=64)
    contact_uri = fields.CharField(max_length=1024)
    # Where the REGISTER came from; a Contact behind NAT may be unreachable, its source is not.
    source_host = fields.CharField(max_length=64)
    source_port = fields.IntField()
    # Whether the REGISTER showed NAT (RESTCOMM_SIP_NAT=auto then calls the source, not the Contact).
    behind_nat = fields.BooleanField(default=False)
    # The REGISTER's Path (RFC 3327), its URIs comma-separated: calls to this contact go through them.
    path = fields.TextField(default="")
    expires_at = fields.DatetimeField()
    user_agent = fields.CharField(max_length=256, default="")
    date_created = fields.DatetimeField()
    date_updated = fields.DatetimeField()

    class Meta:
        table = "registrations"
        unique_together = (("login", "contact_uri"),)
        indexes = (Index(fields=("login", "expires_at"), name="registrations_login"),)


async def live_registration_count() -> int:
    """Contacts registered now, by every node of the database (a binding is shared, so is this count)."""
    return await Registration.filter(expires_at__gt=clock.now()).count()
