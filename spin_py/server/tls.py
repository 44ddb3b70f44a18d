"""HTTPS for `spin-py up --tls-cert/--tls-key` (env `SPIN_TLS_CERT`/`SPIN_TLS_KEY`, as Spin).

`server_context(settings)` loads the PEM certificate chain and private key into a server-side
`ssl.SSLContext` (the `ssl` module's secure defaults: TLS 1.2 or later, HTTP/1.1 only). A file
that is missing, unreadable, not PEM, or a key that does not match the certificate is a
`ConfigError` naming the file, raised before the port is bound. With TLS on, components see
the scheme `https` (`spin-full-url`, the incoming request's scheme) and the listing shows
`https://` URLs.
"""

from __future__ import annotations

import ssl

from spin_py.config import TlsSettings
from spin_py.errors import ConfigError


def server_context(settings: TlsSettings) -> ssl.SSLContext:
    """A server TLS context holding `settings.cert` and `settings.key`."""
    for what, path in (("certificate", settings.cert), ("key", settings.key)):
        if not path.is_file():
            raise ConfigError(f"TLS {what} file {path} does not exist")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.set_alpn_protocols(["http/1.1"])
    try:
        context.load_cert_chain(certfile=settings.cert, keyfile=settings.key)
    except ssl.SSLError as err:
        raise ConfigError(
            f"cannot use TLS certificate {settings.cert} with key {settings.key}: "
            f"{err.reason or err} (both must be PEM files, and the key must match the "
            "certificate)"
        ) from err
    except OSError as err:
        raise ConfigError(
            f"cannot read TLS certificate {settings.cert} or key {settings.key}: "
            f"{err.strerror or err}"
        ) from err
    return context
