"""The aiohttp front end: request handling, spin-* headers, startup listing and lifecycle."""
