"""Code that runs only in the SIP thread: the only modules that import sippy.

Importing any sippy module creates sippy's reactor (ED2) bound to the importing thread, so these modules are
imported for the first time from the SIP thread (see `sip.reactor`), never at the top of an asyncio-side
module. Nothing here touches asyncio: results go back through the `Outlet` the stack hands in.
"""
