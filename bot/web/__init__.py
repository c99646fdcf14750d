"""The families' web side: invitation pages, family pages, audio, podcast
feed, listen counting. An aiohttp application run inside the service's own
event loop (bot/web/server.py), built from one services object
(bot/web/services.py) with routes registered per module."""
