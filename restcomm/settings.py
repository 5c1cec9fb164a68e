"""Server configuration: one field per setting, read from `RESTCOMM_*` variables or the same-named flags.

A field `http_port` is the variable `RESTCOMM_HTTP_PORT` and the flag `--http-port`; a flag wins over the
variable, the variable over the default. Nothing else reads the environment.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from rcml.fetch_policy import DEFAULT_DENY, parse_networks

ENV_PREFIX = "RESTCOMM_"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(
        default="sqlite://restcomm.sqlite3",
        metadata={"help": "sqlite://FILE (relative to the working directory) or postgres://user@host/db"},
    )
    http_host: str = field(default="127.0.0.1", metadata={"help": "address the HTTP API listens on"})
    http_port: int = field(default=8080, metadata={"help": "port the HTTP API listens on"})
    sip_host: str = field(default="127.0.0.1", metadata={"help": "address SIP (UDP) listens on"})
    sip_port: int = field(default=5080, metadata={"help": "UDP port SIP listens on (0: no SIP; calls stay queued)"})
    outbound_proxy: str = field(
        default="",
        metadata={"help": "[user:password@]host[:port] that numbers (not sip: or client:) are sent to"},
    )
    rtp_ports: str = field(default="16000-16999", metadata={"help": "UDP port range for call audio (RTP)"})
    node_id: str = field(
        default="",
        metadata={"help": "this server's name among several sharing a database (default HOSTNAME:SIP_PORT)"},
    )
    node_url: str = field(
        default="",
        metadata={"help": "base URL other nodes reach this node's HTTP side at (default http://HTTP_HOST:HTTP_PORT)"},
    )
    node_lease_seconds: int = field(
        default=6,
        metadata={"help": "how long a node stays alive without renewing; a dead node's calls are closed after it"},
    )
    cluster_secret: str = field(
        default="",
        metadata={"help": "shared by every node: authenticates the requests that carry a change to the node "
                          "running the call (without it, changes to another node's calls are refused)"},
    )
    login_guess_limit: int = field(
        default=10,
        metadata={"help": "failed logins (HTTP Basic, REGISTER digest) one source address may make for one login "
                          "within a minute, six times as many for any logins, before it is refused for a while; "
                          "0 turns the throttle off (behind a proxy that hides client addresses)"},
    )
    drain_seconds: int = field(
        default=20,
        metadata={"help": "on SIGTERM: how long live calls may go on (no new ones taken) before they are ended"},
    )
    sip_secret: str = field(
        default="",
        metadata={"help": "key signing SIP digest nonces; the same on every node (default: random per start)"},
    )
    public_url: str = field(
        default="",
        metadata={"help": "how callbacks and RCML URLs reach this server (default http://HTTP_HOST:HTTP_PORT)"},
    )
    admin_password: str = field(
        default="",
        metadata={"help": "password of the default administrator account, applied when it is first created"},
    )
    recordings_dir: str = field(
        default="recordings", metadata={"help": "directory recordings are written to (relative: to the working dir)"},
    )
    audio_max_bytes: int = field(
        default=16 * 1024 * 1024,
        metadata={"help": "largest audio file <Play> fetches, in bytes; a bigger one is a Notification (11750)"},
    )
    audio_max_seconds: int = field(
        default=600, metadata={"help": "longest audio file <Play> decodes, in seconds (13227 past it)"},
    )
    audio_decode_timeout: int = field(
        default=20, metadata={"help": "seconds one audio file may take to decode; its worker is killed past it"},
    )
    audio_decode_workers: int = field(
        default=2,
        metadata={"help": "processes decoding audio files; one account may use all but one of them at once"},
    )
    audio_cache_bytes: int = field(
        default=256 * 1024 * 1024, metadata={"help": "bytes of decoded prompts kept in memory (<Play>, <Say>)"},
    )
    fetch_deny: str = field(
        default=DEFAULT_DENY,
        metadata={"help": "networks (CIDRs, comma-separated) the server never fetches tenants' URLs from"},
    )
    fetch_allow: str = field(
        default="", metadata={"help": "networks fetched from even when FETCH_DENY covers them (exceptions)"},
    )
    invite_rate: int = field(
        default=20,
        metadata={"help": "new INVITEs per second one source address may send (bursts of twice that); 0: no limit"},
    )
    sip_nat: str = field(
        default="auto",
        metadata={"help": "where calls to a registered phone go: auto (its Contact, or where its REGISTER came "
                          "from when that shows NAT), force (always where the REGISTER came from), off (always "
                          "the Contact)"},
    )
    sip_trusted_proxies: str = field(
        default="",
        metadata={"help": "addresses of SIP proxies in front (Kamailio), comma-separated: their INVITEs count "
                          "against the caller in their Via, not the proxy"},
    )
    account_max_calls: int = field(
        default=200, metadata={"help": "live calls of an account on this node past which inbound calls get 503"},
    )
    number_max_calls: int = field(
        default=50, metadata={"help": "live inbound calls to one number on this node past which it answers 503"},
    )
    dial_max_destinations: int = field(
        default=10, metadata={"help": "destinations one <Dial> rings at once; the rest get a Notification"},
    )
    max_call_seconds: int = field(
        default=4 * 3600, metadata={"help": "a call with no shorter TimeLimit ends after this many seconds"},
    )
    rtp_timeout_seconds: int = field(
        default=60,
        metadata={"help": "an answered call whose far end has sent no RTP for this long (not while it holds the "
                          "call) is hung up, with a Notification; 0 turns it off"},
    )
    call_events_retention: int = field(
        default=168, metadata={"help": "hours Call Events (each webhook's request and response) are kept"},
    )
    log_level: str = field(default="info", metadata={"help": "debug, info, warning or error"})
    log_format: str = field(default="text", metadata={"help": "text, or json: one JSON object per line"})
    metrics: bool = field(default=True, metadata={"help": "collect the metrics GET /metrics shows (false: bench/"
                                                          " measures what collecting costs)"})
    metrics_token: str = field(default="", metadata={"help": "bearer token GET /metrics requires (default: none)"})
    sip_messages: bool = field(default=True, metadata={"help": "store each call's SIP messages (Calls/{CallSid}/"
                                                               "SipMessages); false: none (bench/ measures the cost)"})
    validate_responses: bool = field(
        default=False,
        metadata={"help": "check every JSON response against openapi.yaml (costs ~20%% throughput)"},
    )

    def __post_init__(self) -> None:
        if self.node_lease_seconds < 1:
            raise ValueError(f"RESTCOMM_NODE_LEASE_SECONDS must be 1 or more, not {self.node_lease_seconds}")
        for name in ("fetch_deny", "fetch_allow"):
            try:
                parse_networks(getattr(self, name))
            except ValueError as exc:
                raise ValueError(f"{env_name(name)}: {exc}") from None
        if self.sip_nat not in ("auto", "force", "off"):
            raise ValueError(f"RESTCOMM_SIP_NAT must be auto, force or off, not {self.sip_nat!r}")
        if self.invite_rate < 0:
            raise ValueError(f"RESTCOMM_INVITE_RATE must be 0 or more, not {self.invite_rate}")
        for name in ("dial_max_destinations", "max_call_seconds", "call_events_retention", "account_max_calls",
                     "number_max_calls"):
            if getattr(self, name) < 1:
                raise ValueError(f"{env_name(name)} must be 1 or more, not {getattr(self, name)}")
        if self.login_guess_limit < 0:
            raise ValueError(f"RESTCOMM_LOGIN_GUESS_LIMIT must be 0 or more, not {self.login_guess_limit}")
        if self.drain_seconds < 0:
            raise ValueError(f"RESTCOMM_DRAIN_SECONDS must be 0 or more, not {self.drain_seconds}")
        if self.rtp_timeout_seconds < 0:
            raise ValueError(f"RESTCOMM_RTP_TIMEOUT_SECONDS must be 0 (off) or more, not {self.rtp_timeout_seconds}")

    @property
    def node(self) -> str:
        return self.node_id or f"{socket.gethostname()}:{self.sip_port}"

    @property
    def sip_enabled(self) -> bool:
        return self.sip_port != 0

    @property
    def rtp_port_range(self) -> tuple[int, int]:
        low, _, high = self.rtp_ports.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"RESTCOMM_RTP_PORTS must be FIRST-LAST, not {self.rtp_ports!r}") from None
        if not 1024 <= first <= last <= 65535:
            raise ValueError(f"RESTCOMM_RTP_PORTS must lie within 1024-65535, not {self.rtp_ports!r}")
        return first, last

    @property
    def internal_url(self) -> str:
        """Where the other nodes send this node's work (changes to the calls it owns)."""
        if self.node_url:
            return self.node_url.rstrip("/")
        host = self.http_host if self.http_host not in ("0.0.0.0", "::") else self.sip_host
        return f"http://{host}:{self.http_port}"

    @property
    def base_url(self) -> str:
        """Absolute URL of this server, used to resolve relative RCML URLs and build callback links."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.http_host if self.http_host not in ("0.0.0.0", "::") else "127.0.0.1"
        return f"http://{host}:{self.http_port}"


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def _convert(raw: str, kind: Any, name: str) -> Any:
    if kind in (bool, "bool"):
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"{env_name(name)} must be true or false, not {raw!r}")
    if kind in (int, "int"):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{env_name(name)} must be an integer, not {raw!r}") from None
    return raw


def from_env(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from the environment, with explicit overrides (e.g. parsed flags) on top."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if env_name(f.name) in environ:
            values[f.name] = _convert(environ[env_name(f.name)], f.type, f.name)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)


def add_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per setting; each defaults to None so an absent flag leaves the variable in charge."""
    for f in fields(Settings):
        help_text = f"{f.metadata.get('help', '')} [{env_name(f.name)}]"
        if f.type in (bool, "bool"):
            parser.add_argument(flag_name(f.name), dest=f.name, default=None,
                                action=argparse.BooleanOptionalAction, help=help_text)
        else:
            parser.add_argument(flag_name(f.name), dest=f.name, default=None,
                                type=int if f.type in (int, "int") else str, help=help_text)


def from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    names: Sequence[str] = [f.name for f in fields(Settings)]
    return from_env(environ, **{n: getattr(args, n, None) for n in names})


def replace(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(settings, **changes)
