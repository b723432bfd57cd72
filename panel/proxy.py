"""Who the client is: forwarded headers are believed only from proxies named in TRUSTED_PROXIES.

Anyone can send `X-Forwarded-For: 1.2.3.4`. Behind a proxy that appends the address it saw, the
header is a chain `client-claims..., what-proxy-1-saw, ...` and only the entries appended by
proxies we run are true. So:

- a request whose socket peer (REMOTE_ADDR) is not a trusted proxy has every forwarded header
  removed (`ForwardedHeadersMiddleware`): its address is the socket's, its scheme the socket's;
- from a trusted proxy, the client is the right-most X-Forwarded-For entry that is not itself a
  trusted proxy (`client_address`): entries to its left are whatever the client chose to send.

With TRUSTED_PROXIES empty (the default) no forwarded header is ever believed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Headers a client could use to claim another address, host or scheme.
FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """`10.0.0.5`, `172.28.0.0/24` or `::1` as networks; ValueError names a bad entry."""
    networks = []
    for value in values:
        text = value.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address or network") from None
    return tuple(networks)


@lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(values)


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def is_trusted(address: str) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in network for network in trusted_networks())


def client_address(request: HttpRequest) -> str:
    """The address of the client that sent `request`, as far as it can be trusted."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    if not is_trusted(remote):
        return remote
    chain = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    chosen = remote
    for entry in reversed([part for part in chain if part]):
        ip = _ip(entry)
        if ip is None:
            break  # junk a trusted proxy would not write: the last believable hop is the client
        chosen = str(ip)
        if not is_trusted(chosen):
            break
    return chosen


class ForwardedHeadersMiddleware:
    """First in MIDDLEWARE: drops forwarded headers a trusted proxy did not send, before
    SecurityMiddleware reads X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER) and anything reads
    the client's address."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_trusted(request.META.get("REMOTE_ADDR", "")):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)
