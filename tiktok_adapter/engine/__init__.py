"""What every transport shares: the limiter built from Settings, and the sync wait loop.

``limiter`` holds the routes, rules, store, counters and hooks and reads answers;
``waiting`` queues a call by priority and sleeps until the store admits it; ``gate``
is the priority queue; ``effects`` is the work on the store after an answer, and
``late`` says when a late answer moves its request's window entries. The transports
(the requests adapter, ``tiktok_adapter.httpx``) only send, read, sleep and raise.
"""
