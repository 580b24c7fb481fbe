"""The rules, free of any HTTP library: limit strings, windows, routes, refusals, decisions.

Transports (requests' adapter, httpx's transports) hand plain values in and carry out
what comes back; nothing here imports requests or httpx, or sleeps.
"""
