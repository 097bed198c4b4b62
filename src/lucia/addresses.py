"""Client addresses: which address a request counts under, behind trusted proxies or not.

    address = client_address(request.client.host, request.headers.get("x-forwarded-for"),
                             trusted_proxies=["10.0.0.0/8"])

``client_address`` honours ``X-Forwarded-For`` only when the TCP peer is one
of your own proxies (anyone can send the header), and reads it from the right,
so a client cannot step around a per-address limit by naming another address.
``parse_ip`` is the one normal form of an IP address lucia keys on (the
throttle's per-address counters): IPv4-mapped IPv6 as IPv4, no scope id.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["IPAddress", "IPNetwork", "client_address", "parse_ip"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ip(text: str) -> IPAddress | None:
    """An IP address (IPv4-mapped IPv6 as IPv4, no scope id), or None when ``text`` is none."""
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.scope_id is not None:  # "%eth0" names a local interface: no part of the address
            return ipaddress.IPv6Address(int(ip))
    return ip


def _parse_hop(entry: str) -> IPAddress | None:
    """One ``X-Forwarded-For`` entry: an IP, ``[IPv6]:port`` or ``IPv4:port``; else None."""
    entry = entry.strip()
    if entry.startswith("["):
        host, bracket, port = entry[1:].partition("]")
        if not bracket or (port and not (port[0] == ":" and port[1:].isdigit())):
            return None
        return parse_ip(host)
    if entry.count(":") == 1:  # IPv4 with a port (some proxies add it)
        host, _, port = entry.partition(":")
        return parse_ip(host) if port.isdigit() and "." in host else None
    return parse_ip(entry)


def _networks(trusted_proxies: Iterable[str | IPNetwork] | str) -> list[IPNetwork]:
    if isinstance(trusted_proxies, str):  # one entry, not its characters
        trusted_proxies = [trusted_proxies]
    networks: list[IPNetwork] = []
    for entry in trusted_proxies:
        if isinstance(entry, ipaddress.IPv4Network | ipaddress.IPv6Network):
            networks.append(entry)
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip()))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR network: {entry!r}") from None
    return networks


def _trusted(ip: IPAddress, networks: list[IPNetwork]) -> bool:
    return any(ip.version == net.version and ip in net for net in networks)


def client_address(
    peer: str | None,
    forwarded_for: str | None,
    trusted_proxies: Iterable[str | IPNetwork] = (),
) -> str | None:
    """The address to count a request under.

    ``peer`` is the TCP peer (``request.client.host``); ``forwarded_for`` the
    ``X-Forwarded-For`` header (several headers joined with ``","``);
    ``trusted_proxies`` IPs or CIDR networks (``"10.0.0.0/8"``) of your own proxies.
    Without trusted proxies, or when the peer is not one of them, the header is
    ignored (anyone can send it) and the peer is the answer. Behind a trusted
    proxy the header is read from the right, skipping trusted proxies, and the
    first untrusted address is the answer. A malformed entry ends the walk at the
    last trusted hop, whose address is then the answer: garbage is never trusted.
    IP addresses come back normalised (IPv4-mapped IPv6 as IPv4); a peer that is
    no IP address comes back as it is. ValueError for an invalid trusted entry.
    """
    networks = _networks(trusted_proxies)
    if peer is None:
        return None
    current = parse_ip(peer)
    if current is None:
        return peer
    if not networks or not _trusted(current, networks) or not forwarded_for:
        return str(current)
    for entry in reversed(forwarded_for.split(",")):
        hop = _parse_hop(entry)
        if hop is None:
            break
        current = hop
        if not _trusted(hop, networks):
            break
    return str(current)
