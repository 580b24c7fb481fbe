"""The rules, free of any HTTP library: limit strings, windows, routes, refusals, decisions.

Transports (requests' adapter, httpx's transports) hand plain values in and carry out
what comes back; nothing here imports requests or httpx, or sleeps. The core is pure:
it imports only the standard library, ``limits`` and itself, starts no thread and asks
no store (the engine reads the store and hands the values in; ``tests/test_layout.py``
checks the imports and the threads). Locks guard its own state in memory (the clock,
the route cache, the counters), and ``forksafe`` renews them in a forked child.
"""
