"""The aiohttp application: settings, CLI, HTTP handlers, sessions and the realtime hub."""
