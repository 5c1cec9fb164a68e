"""A decoding worker process: `python .../sip/media/decode_worker.py LIMITS_JSON`, started by decoder_pool.py.

Run as a script, by path: it loads decoder.py from beside it and nothing else of the project, because importing
`sip.media...` runs `sip/__init__.py`, which loads the whole SIP stack (0.9 s and tens of MB per worker, for
nothing). Only the standard library and PyAV are in a worker.

It reads requests from stdin and answers on stdout, one at a time, until stdin closes. A request is the file:
an 8-byte big-endian length, then the bytes. An answer is one status byte (0: PCM follows, 1: a refusal's
message follows), an 8-byte length, then the payload. The process is what bounds a decode: its address space
is capped (RLIMIT_AS), it runs at a lower priority than the server, and the pool kills it past the time limit.
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import struct
import sys
from pathlib import Path

_LENGTH = struct.Struct(">Q")
OK, REFUSED = 0, 1
# Below the server's own threads: on a small machine a decode must not take the CPU the calls need.
_NICENESS = 10


def _decoder_module():
    spec = importlib.util.spec_from_file_location("_decoder", Path(__file__).with_name("decoder.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def main() -> None:
    decoder = _decoder_module()
    DecodeError, decode_bytes = decoder.DecodeError, decoder.decode_bytes
    limits = decoder.DecodeLimits(**json.loads(sys.argv[1]))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    os.nice(_NICENESS)
    import av

    av.logging.set_level(None)  # hostile files make FFmpeg log a lot; the refusal says what went wrong
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = requests.read(_LENGTH.size)
        if len(header) < _LENGTH.size:
            return
        data = requests.read(_LENGTH.unpack(header)[0])
        try:
            status, payload = OK, decode_bytes(data, limits)
        except DecodeError as exc:
            status, payload = REFUSED, json.dumps({"message": str(exc), "bound": exc.bound}).encode()
        except MemoryError:
            message = f"decoding needs more than {limits.memory_bytes >> 20} MB"
            status, payload = REFUSED, json.dumps({"message": message, "bound": True}).encode()
        answers.write(bytes([status]) + _LENGTH.pack(len(payload)))
        answers.write(payload)
        answers.flush()


if __name__ == "__main__":
    main()
