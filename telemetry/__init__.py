"""What the server tells its operators: Prometheus metrics and the context every log line carries.

A leaf package: it imports nothing of the project, so every layer (sip, models, rcml, calls, handlers) may
record into it without bending the dependency rule.
"""
