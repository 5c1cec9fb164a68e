"""The server's Prometheus metrics, defined once, recorded by the layer that sees the event.

Names follow Prometheus' conventions: the `restcomm_` prefix, base units (seconds), `_total` on counters,
and only labels with a small fixed set of values (direction, status, method, cause, operation): never a
CallSid, an account SID or a URL, whose values grow without bound and would grow the scrape with them.
What exists at any moment (live calls, registrations, rooms) is not counted here: the /metrics handler reads
it from the engine at scrape time, which costs a call nothing.

prometheus-client is the Prometheus project's own Python library (Apache-2.0, maintained by the
Prometheus authors, no dependencies): its counters are thread-safe, which the SIP thread needs, and its text
exposition is the format scrapers read. Recording one sample costs about a microsecond.

`METRICS.disable()` swaps every metric for a no-op (RESTCOMM_METRICS=false): that is how bench/ measures
what collecting costs. Code records through the attributes of `METRICS` at the time of the event
(`METRICS.calls_ended.labels(...)`), so the swap reaches every call site.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

# A `_created` series per counter doubles the scrape and says nothing an operator asks about.
disable_created_metrics()
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

# Call setup spans a ring (seconds to a minute); an RCML fetch is milliseconds unless the application is slow.
_SETUP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120)
_FETCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
# A prompt decodes in a tenth of a second or so; the time limit (RESTCOMM_AUDIO_DECODE_TIMEOUT) is 20 s.
_DECODE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30)

# SIP methods as label values: anything else a peer sends is "other", so a peer cannot grow the label set.
SIP_METHODS = frozenset({"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO", "PRACK", "UPDATE",
                         "MESSAGE", "SUBSCRIBE", "NOTIFY", "PUBLISH", "REFER"})


class Metrics:
    """Every metric of the server, as attributes; `disable()` makes them all record nothing."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.calls_started = Counter("restcomm_calls_started", "Calls created, by direction",
                                     ["direction"], registry=r)
        self.calls_ended = Counter("restcomm_calls_ended", "Calls that reached their final status",
                                   ["direction", "status"], registry=r)
        self.call_setup = Histogram("restcomm_call_setup_seconds", "From the API request or the INVITE to the answer",
                                    ["direction"], buckets=_SETUP_BUCKETS, registry=r)
        self.rcml_fetch = Histogram("restcomm_rcml_fetch_seconds", "Time to fetch an RCML document, failed or not",
                                    buckets=_FETCH_BUCKETS, registry=r)
        self.rcml_fetch_failures = Counter("restcomm_rcml_fetch_failures", "RCML fetches that failed, by cause",
                                           ["cause"], registry=r)
        self.callbacks = Counter("restcomm_status_callbacks", "Status callbacks finished: delivered or given up",
                                 ["outcome"], registry=r)
        self.callback_retries = Counter("restcomm_status_callback_retries",
                                        "Status callback attempts after a failed one", registry=r)
        self.sip_requests = Counter("restcomm_sip_requests", "SIP requests on the wire (retransmissions too)",
                                    ["direction", "method"], registry=r)
        self.sip_responses = Counter("restcomm_sip_responses", "SIP responses on the wire, by class (1xx..6xx)",
                                     ["direction", "class"], registry=r)
        self.rtp_streams_opened = Counter("restcomm_rtp_streams_opened", "RTP endpoints opened", registry=r)
        self.rtp_streams = Gauge("restcomm_rtp_streams", "RTP endpoints open now", registry=r)
        self.rtp_packets_lost = Counter("restcomm_rtp_packets_lost", "RTP packets lost on receive (sequence gaps)",
                                        registry=r)
        self.rtp_packets_late = Counter("restcomm_rtp_packets_late", "RTP packets sent more than a frame late",
                                        registry=r)
        self.http_requests = Counter("restcomm_http_requests", "API requests, by operation and status",
                                     ["operation", "status"], registry=r)
        self.http_latency = Histogram("restcomm_http_request_seconds", "API request handling time, by operation",
                                      ["operation"], buckets=_HTTP_BUCKETS, registry=r)
        self.audio_lookups = Counter("restcomm_audio_lookups", "<Play>/<Say> audio asked for, by how it was had: "
                                     "hit (cached, fresh), revalidated (304), fetched, refused (a kept refusal)",
                                     ["result"], registry=r)
        self.audio_decodes = Counter("restcomm_audio_decodes", "Audio files given to the decoder workers, by outcome "
                                     "(decoded, refused, bound: past a limit)", ["outcome"], registry=r)
        self.audio_decode = Histogram("restcomm_audio_decode_seconds", "Time a worker took, waiting for it included",
                                      buckets=_DECODE_BUCKETS, registry=r)
        self.limit_rejections = Counter("restcomm_limit_rejections", "Requests refused by a per-account limit",
                                        ["limit"], registry=r)

    def disable(self) -> None:
        """Every metric records nothing from now on (the process-wide switch RESTCOMM_METRICS=false)."""
        for name in list(vars(self)):
            setattr(self, name, _NULL)


class _Null:
    """Takes every call a metric takes and does nothing."""

    def labels(self, *_: Any, **__: Any) -> _Null:
        return self

    def inc(self, *_: Any) -> None:
        pass

    def dec(self, *_: Any) -> None:
        pass

    def set(self, *_: Any) -> None:
        pass

    def observe(self, *_: Any) -> None:
        pass


_NULL = _Null()
METRICS = Metrics(REGISTRY)


def sip_method_label(method: str) -> str:
    return method if method in SIP_METHODS else "other"
