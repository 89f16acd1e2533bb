"""Cookieless visitor keys: HMAC of a random daily salt over IP address, user agent and site.

The address and user agent exist only in memory while a key is computed; they are never stored or logged.
Salts live in the database so every process agrees on today's key; deleting a salt after 48 hours makes
older keys unlinkable to anyone.
"""

import hashlib
import ipaddress
import secrets
import threading
from datetime import timedelta
from functools import lru_cache
from socket import AF_INET, AF_INET6, inet_pton

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Salt

KEY_LENGTH = 16
_cache = {}
_keyed = {}  # day: HMAC-SHA256 already keyed with its salt (_keyed_sha256), copied for each key
_lock = threading.Lock()


def has_salt(day):
    """Whether `day`'s salt is at hand without asking the database (an event loop must not wait for it)."""
    return day in _cache


def salt_for(day):
    secret = _cache.get(day)
    if secret is not None:
        return secret
    with _lock:
        secret = _cache.get(day)
        if secret is None:
            salt = Salt.objects.filter(day=day).first()
            if salt is None:
                try:
                    with transaction.atomic():
                        salt = Salt.objects.create(day=day, secret=secrets.token_hex(32))
                except IntegrityError:  # another process created today's salt first
                    salt = Salt.objects.get(day=day)
            secret = salt.secret
            if len(_cache) > 4:
                _cache.clear()
            _cache[day] = secret
    return secret


def visitor_key(ip, user_agent, site, day):
    keyed = _keyed.get(day)
    if keyed is None:
        if len(_keyed) > 4:
            _keyed.clear()
        keyed = _keyed[day] = _keyed_sha256(salt_for(day).encode())
    inner, outer = keyed[0].copy(), keyed[1].copy()
    inner.update(f"{ip}\n{user_agent}\n{site}".encode("utf-8", "replace"))
    outer.update(inner.digest())
    return outer.hexdigest()[:KEY_LENGTH]


def _keyed_sha256(key):
    """HMAC-SHA256 (RFC 2104) keyed once: its inner and outer hashes, already fed their padded keys, for
    each key to copy. What hmac.new(key).copy() does; kept because bench/hot_path.py measures it at about
    half the time of hmac.new per hit, and below hmac's own copy and OpenSSL's one-shot hmac.digest (the
    hmac module's copy runs in Python). Tests hold the result to hmac's."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return (hashlib.sha256(key.translate(_INNER_PAD)), hashlib.sha256(key.translate(_OUTER_PAD)))


_BLOCK = hashlib.sha256().block_size
_INNER_PAD = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD = bytes(byte ^ 0x5C for byte in range(256))


def delete_old_salts(now=None):
    """Keep today's and yesterday's salts (a visit may straddle midnight); forget the rest."""
    today = (now or timezone.now()).date()
    Salt.objects.filter(day__lt=today - timedelta(days=1)).delete()
    _cache.clear()
    _keyed.clear()


def client_ip(environ):
    """The reader's address: REMOTE_ADDR, or the nearest untrusted address in X-Forwarded-For when (and only
    when) the request came through one of our configured proxies.

    A peer on a Unix socket (no REMOTE_ADDR) counts as one of them: only processes allowed to open the
    socket's file reach it, and deploy/ gives that right to nginx alone."""
    remote = environ.get("REMOTE_ADDR", "")
    forwarded = environ.get("HTTP_X_FORWARDED_FOR")
    proxies = settings.TRUSTED_PROXIES
    if not forwarded or not proxies:
        return remote
    proxies = tuple(proxies)
    if remote and not _trusted(remote, proxies):
        return remote
    for address in reversed(forwarded.split(",")):
        address = address.strip()
        if address and not _trusted(address, proxies):
            return address
    return remote


# Behind our own proxy every pixel hit asks whether addresses are our proxies': parsed by ipaddress, with the
# networks parsed afresh too, that cost 18 us per hit. The networks are kept as integers (keyed by the
# setting's text, as tests change it) and addresses parsed by the C library.
def _trusted(address, proxies):
    number = _address_number(address)
    if number is None:
        return False
    version, value = number
    for kind, start, mask in _networks(proxies):
        if version == kind and value & mask == start:
            return True
    return False


def _address_number(address):
    """(IP version, the address as an integer), or None if it is not an address. socket.inet_pton parses in a
    tenth of ipaddress's time; what it refuses goes to ipaddress, which also reads IPv6 zones (fe80::1%eth0)."""
    try:
        return 4, int.from_bytes(inet_pton(AF_INET, address), "big")
    except (OSError, ValueError):
        pass
    try:
        return 6, int.from_bytes(inet_pton(AF_INET6, address), "big")
    except (OSError, ValueError):
        pass
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return ip.version, int(ip)


@lru_cache(maxsize=8)
def _networks(proxies):
    networks = [ipaddress.ip_network(net, strict=False) for net in proxies]
    return tuple((network.version, int(network.network_address), int(network.netmask)) for network in networks)
