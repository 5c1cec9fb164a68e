"""sippy's reactor (ED2) bound to the SIP thread on start, and released by that same thread on exit.

ED2 is a process-wide singleton built around an ElPeriodic handle. The handle keeps its call-from-thread queue
in the thread-local storage of the thread that enabled it and wakes that thread with SIGURG, so:
- a handle made by another thread (sippy imported on the main thread, or an earlier SIP thread) wakes the
  wrong thread and every hand-off waits for the next 10 ms tick: it is replaced by one made here;
- a handle freed by any thread but its owner, for example by its finalizer at interpreter exit, crashes the
  process (segfault at exit): the SIP thread frees its own handle before it ends.
"""

from __future__ import annotations

import signal
import threading

from elperiodic.ElPeriodic import ElPeriodic
from sippy.Core.EventDispatcher import ED2, EventDispatcher2

TICK_HZ = 100.0


def claim() -> EventDispatcher2:
    """ED2, owned by the calling thread, with no timers left over from an earlier run."""
    me = threading.get_ident()
    if ED2.elp is not None and ED2.elp._hndl is not None and ED2.my_ident != me:
        _free(ED2.elp)
    if ED2.elp is None or ED2.elp._hndl is None:
        ED2.elp = ElPeriodic(TICK_HZ)
        ED2.elp.CFT_enable(signal.SIGURG)
        ED2.bands = [(TICK_HZ, 0)]
    ED2.my_ident = me
    # Timers of a stopped run would fire against its shut-down transaction manager.
    ED2.tlisteners = []
    ED2.twasted = 0
    ED2.signals_pending = []
    ED2.endloop = False
    return ED2


def release(ed: EventDispatcher2) -> None:
    """Frees the handle; call it from the thread that claimed it, after its loop has returned."""
    ed.tlisteners = []
    if ed.elp is not None and ed.elp._hndl is not None:
        _free(ed.elp)


def _free(elp: ElPeriodic) -> None:
    elp._elpl.prdic_free(elp._hndl)
    # The object stays referenced by ED2; with no handle its finalizer has nothing left to free.
    elp._hndl = None
