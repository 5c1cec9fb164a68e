"""The live-call engine: the registry of live calls on this node and the factory of their owners (engine.py),
one owner (an actor) per call leg (owner.py and its kinds outbound.py, inbound.py, dialled_leg.py), dial
attempts, conference rooms, status callbacks, notifications and recordings storage. The values its callers
share with it are in types.py, which imports nothing from here."""
