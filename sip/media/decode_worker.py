"""A decoding worker process: `python .../sip/media/decode_worker.py LIMITS_JSON`, started by decoder_pool.py.

Run as a script, by path: it loads decoder.py and g711.py from beside it and nothing else of the project,
because importing `sip.media...` runs `sip/__init__.py`, which loads the whole SIP stack (0.9 s and tens of MB
per worker, for nothing). Only the standard library and PyAV are in a worker.

It reads requests from stdin and answers on stdout, one at a time, until stdin closes. A request is the file:
an 8-byte big-endian length, then the bytes. An answer is one status byte, then length-prefixed parts (8-byte
big-endian lengths): for OK three, the PCM and its PCMU and PCMA encodings (made here with sip/media/g711.py's
tables, because encoding a long prompt takes about 1 ms per second of audio of the CPU the event loop would
otherwise spend, 0.7 s for a 600 s file); for REFUSED one, a JSON {"message", "bound"}.

The process is what bounds a decode: its address space is capped (RLIMIT_AS), it runs at a lower priority than
the server, and the pool kills it past the time limit.
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


def _sibling(name: str):
    spec = importlib.util.spec_from_file_location(f"_{name}", Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def main() -> None:
    decoder, g711 = _sibling("decoder"), _sibling("g711")
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
            pcm = decode_bytes(data, limits)
            status, parts = OK, [pcm, g711.encode(pcm, "PCMU"), g711.encode(pcm, "PCMA")]
        except DecodeError as exc:
            status, parts = REFUSED, [json.dumps({"message": str(exc), "bound": exc.bound}).encode()]
        except MemoryError:
            message = f"decoding needs more than {limits.memory_bytes >> 20} MB"
            status, parts = REFUSED, [json.dumps({"message": message, "bound": True}).encode()]
        answers.write(bytes([status]))
        for part in parts:
            answers.write(_LENGTH.pack(len(part)))
            answers.write(part)
        answers.flush()


if __name__ == "__main__":
    main()
