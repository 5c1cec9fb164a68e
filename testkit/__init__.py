"""What the tests and the benchmarks both start and read: free ports, bounded processes, sipp, scratch databases.

Nothing of the server imports it (tests/test_dependency_rule.py); it imports nothing of `tests` or `bench`.
"""
