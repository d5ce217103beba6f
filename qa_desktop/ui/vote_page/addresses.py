"""Where the vote page listens: the first private LAN address, or loopback."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtNetwork import QAbstractSocket, QHostAddress, QNetworkInterface

LOOPBACK = "127.0.0.1"


def choose_address(addresses: Iterable[QHostAddress]) -> str:
    """The first private-use IPv4 address (10/8, 172.16/12, 192.168/16), else the first
    unique-local IPv6 one (fc00::/7), else loopback: never a public address."""
    found = [a for a in addresses if a.isPrivateUse() and not a.isLoopback()]
    for family in (
        QAbstractSocket.NetworkLayerProtocol.IPv4Protocol,
        QAbstractSocket.NetworkLayerProtocol.IPv6Protocol,
    ):
        for address in found:
            if address.protocol() == family and not address.scopeId():
                return address.toString()
    return LOOPBACK


def default_address() -> str:
    """This machine's first private LAN address (see :func:`choose_address`)."""
    return choose_address(QNetworkInterface.allAddresses())


def url_host(address: str) -> str:
    """The address as a URL's host (IPv6 in brackets)."""
    return f"[{address}]" if ":" in address else address
