"""What a call asks of answering machine detection: Twilio's MachineDetection parameters, as one value.

POST Calls gives them as form parameters (`MachineDetection`, `MachineDetectionTimeout`, ...) in both
dialects; openapi.yaml has already checked their ranges. A <Dial> noun gives them as attributes
(`<Number machineDetection="DetectMessageEnd">`), checked here. The detector (sip/media/amd.py) takes them in
milliseconds; calls/detection_run.py runs it on the answered call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sip.media.amd import AmdSettings, AnsweredBy

ENABLE = "Enable"
DETECT_MESSAGE_END = "DetectMessageEnd"


@dataclass(frozen=True)
class MachineDetection:
    mode: str  # Enable or DetectMessageEnd
    timeout_s: int = 30
    speech_threshold_ms: int = 2400
    speech_end_threshold_ms: int = 1200
    silence_timeout_ms: int = 5000
    # AsyncAmd: the application runs at once and the result goes to `async_callback`.
    asynchronous: bool = False
    async_callback: str | None = None
    async_callback_method: str = "POST"

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> MachineDetection | None:
        """The detection a create request asks for (None without `MachineDetection`)."""
        mode = form.get("MachineDetection")
        if not mode:
            return None
        return cls(
            mode=mode,
            timeout_s=int(form.get("MachineDetectionTimeout", 30)),
            speech_threshold_ms=int(form.get("MachineDetectionSpeechThreshold", 2400)),
            speech_end_threshold_ms=int(form.get("MachineDetectionSpeechEndThreshold", 1200)),
            silence_timeout_ms=int(form.get("MachineDetectionSilenceTimeout", 5000)),
            asynchronous=_true(form.get("AsyncAmd", False)),
            async_callback=form.get("AsyncAmdStatusCallback") or None,
            async_callback_method=form.get("AsyncAmdStatusCallbackMethod", "POST"),
        )

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, str]) -> MachineDetection | None:
        """The detection a <Dial> noun asks for (`<Number machineDetection="Enable">`, Twilio's attribute
        names); ValueError names an attribute out of its range. With `amdStatusCallback` it is asynchronous:
        the parties are connected at once and the result goes there."""
        mode = attributes.get("machineDetection")
        if not mode:
            return None
        if mode not in (ENABLE, DETECT_MESSAGE_END):
            raise ValueError(f"machineDetection must be {ENABLE} or {DETECT_MESSAGE_END}")
        values = {name: _within(attributes, name, low, high, default) for name, (low, high, default) in _RANGES.items()}
        callback = attributes.get("amdStatusCallback") or None
        method = attributes.get("amdStatusCallbackMethod", "POST").upper()
        if method not in ("GET", "POST"):
            raise ValueError("amdStatusCallbackMethod must be GET or POST")
        return cls(mode=mode, timeout_s=values["machineDetectionTimeout"],
                   speech_threshold_ms=values["machineDetectionSpeechThreshold"],
                   speech_end_threshold_ms=values["machineDetectionSpeechEndThreshold"],
                   silence_timeout_ms=values["machineDetectionSilenceTimeout"],
                   asynchronous=callback is not None, async_callback=callback, async_callback_method=method)

    def settings(self) -> AmdSettings:
        return AmdSettings(
            detect_message_end=self.mode == DETECT_MESSAGE_END,
            timeout_ms=self.timeout_s * 1000,
            speech_threshold_ms=self.speech_threshold_ms,
            speech_end_threshold_ms=self.speech_end_threshold_ms,
            silence_timeout_ms=self.silence_timeout_ms,
        )


# Twilio's ranges and defaults, as openapi.yaml declares them for the create parameters.
_RANGES = {
    "machineDetectionTimeout": (3, 59, 30),
    "machineDetectionSpeechThreshold": (1000, 6000, 2400),
    "machineDetectionSpeechEndThreshold": (500, 5000, 1200),
    "machineDetectionSilenceTimeout": (2000, 10000, 5000),
}


def _within(attributes: Mapping[str, str], name: str, low: int, high: int, default: int) -> int:
    raw = attributes.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be from {low} to {high}")
    return value


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def restcomm_answered_by(result: AnsweredBy) -> str | None:
    """The Call's `answered_by` as RestComm documents it: human or machine (a fax is a machine too), or
    empty when detection could not tell."""
    if result == AnsweredBy.HUMAN:
        return "human"
    if result.is_machine or result == AnsweredBy.FAX:
        return "machine"
    return None
