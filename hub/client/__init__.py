"""The vendor HTTP client every connector is built on.

Nothing is imported here, so a module that needs one piece (the settings, say) does not load
aiohttp with it:

- :mod:`hub.client.settings`: the settings every connector plugin shares;
- :mod:`hub.client.vendor`: ``VendorClient``, one session with limits, retries and typed errors;
- :mod:`hub.client.http_connector`: ``HTTPConnector``, the base of a vendor connector;
- :mod:`hub.client.response`: an answer read whole, its JSON and its error messages;
- :mod:`hub.client.auth`: header and OAuth2 client-credentials auth middlewares;
- :mod:`hub.client.limits`: rate limit, concurrency cap and the 429 pause;
- :mod:`hub.client.shared_limits`: a credential's rate and 429 pause shared by replicas in Redis;
- :mod:`hub.client.retry`: when to retry and how long to wait;
- :mod:`hub.client.paging`: pagination strategies and the tally of what a read yielded;
- :mod:`hub.client.deadlines`: request timeouts kept by one sweeping timer;
- :mod:`hub.client.observer`: the hooks a client reports its requests to.
"""
