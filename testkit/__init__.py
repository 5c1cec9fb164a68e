"""What the tests and the benchmarks both start and read: free ports, bounded processes, sipp, scratch databases,
the application stand-in (testkit/application.py), cluster nodes and Kamailio.

Nothing of the server imports it (tests/test_dependency_rule.py); it imports nothing of `tests` or `bench`.
"""
