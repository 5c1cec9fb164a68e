"""What every benchmark uses: the servers and peers it starts (procs, sipp), its load (loadgen: wrk), its
profiles (profiling: py-spy), its figures (percentiles, report). Built on testkit/, which the tests share:
one way to start and stop a process, to pick ports, to run sipp, to make a scratch database, to read CPU time.
"""
