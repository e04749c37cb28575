"""Which network addresses a build may fetch from: never the build machine's own network.

A source list is untrusted (it arrives by pull request), and so is every page and redirect
behind its URLs. Without a check, a row whose URL (or whose page, playlist or redirect) names
``127.0.0.1``, ``169.254.169.254`` (cloud metadata) or a ``10.x`` host makes the build fetch from
the machine's private network and publish what it gets. :func:`url_problem` refuses any URL that
is not ``http(s)`` or whose host resolves to an address that is not globally routable
(loopback, private, link-local, shared, unspecified, reserved, multicast), checking *every*
address the name resolves to. ``--allow-private-network`` lifts the address rule (the embedded
sample and the tests serve their media on 127.0.0.1); ``exempt`` lifts it for some networks only.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = ("http", "https")


@dataclass(frozen=True)
class NetworkPolicy:
    """``allow_private``: fetch from any address; ``exempt``: CIDRs allowed although private."""

    allow_private: bool = False
    exempt: tuple[str, ...] = ()

    def url_problem(self, url: str) -> str | None:
        return url_problem(url, self)


def is_public(ip: Address) -> bool:
    """True for a globally routable unicast address (an IPv4-mapped IPv6 is judged as IPv4)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str) -> list[Address]:
    """Every address ``host`` resolves to (a literal address is itself); [] if it does not resolve."""
    try:
        return [ipaddress.ip_address(host.strip("[]").split("%")[0])]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    out: list[Address] = []
    for info in infos:
        try:
            ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        except ValueError:
            continue
        if ip not in out:
            out.append(ip)
    return out


def url_problem(url: str, policy: NetworkPolicy = NetworkPolicy()) -> str | None:
    """Why ``url`` must not be fetched under ``policy``, or None when it may."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return f"malformed URL {url[:120]!r}"
    if parts.scheme.lower() not in SCHEMES:
        return f"URL scheme {parts.scheme or 'none'!r} refused (only http and https): {url[:120]!r}"
    if not host:
        return f"URL without a host refused: {url[:120]!r}"
    if policy.allow_private:
        return None
    exempt = [ipaddress.ip_network(n, strict=False) for n in policy.exempt]
    for ip in resolve(host):
        if not is_public(ip) and not any(ip in net for net in exempt):
            return (
                f"{host} resolves to the non-public address {ip}; sources on private, loopback or "
                "link-local networks are refused (pass --allow-private-network for a trusted local source)"
            )
    return None
