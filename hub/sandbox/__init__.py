"""The kit every vendor sandbox is built from (see :class:`~hub.sandbox.server.SandboxServer`).

- :mod:`hub.sandbox.options`: how a sandbox runs and the faults it injects;
- :mod:`hub.sandbox.server`: the server base, its rate limit, fault injection and admin surface;
- :mod:`hub.sandbox.collection`: records derived from an index, storing only client changes;
- :mod:`hub.sandbox.fake_data`: seeded fake people, addresses and names;
- :mod:`hub.sandbox.query`: the page and time parameters every sandbox reads the same way.
"""
