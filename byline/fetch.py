"""Fetching from other people's servers without becoming a way into our own network: the one HTTP client
for partners' pages (verify/), copy discovery, agencies' pictures (wire/) and anything else that fetches an
address someone else gave us.

Rules, at every hop (the first request and each redirect):

- only `http` and `https` URLs, without user names or passwords in them, on the default ports or 8080/8443;
- the host name is resolved once (`resolve`, the one function tests replace), and every address it
  resolves to must be public: private, loopback, link-local (cloud metadata lives there), multicast,
  reserved, unspecified, shared (CGNAT) and documentation ranges are refused, in IPv4 and IPv6, also when an
  IPv4 address hides inside an IPv6 one (IPv4-mapped, NAT64, 6to4, Teredo);
- we then connect to the address we checked, never to the name: no second DNS look-up can swap it. TLS
  still verifies the certificate against the host name (and sends it as SNI), and `Host` names the host;
- a connect timeout, and a total deadline that covers the TLS handshake, the headers and the body, however
  slowly a server drips bytes;
- a size cap on the body, also after decompression;
- an honest User-Agent that names Byline and our site;
- a per-host rate limit (one request per host every `VERIFY_HOST_INTERVAL` seconds, per process).

`Fetcher.post(url, body, headers)` sends a body (webhooks) under the same rules, to one address only: it never
follows a redirect (a 3xx is the answer) and never sends the body twice.

Hosts named in the `FETCH_ALLOW_HOSTS` setting (environment variable `BYLINE_FETCH_ALLOW_HOSTS`, a comma list
of host names, addresses or networks such as `127.0.0.1`, `intranet.example`, `10.0.0.0/8`; the older
`BYLINE_VERIFY_ALLOW_HOSTS` and `BYLINE_WIRE_ALLOW_HOSTS` are read into it too) may resolve to private
addresses: for tests and intranets. Nothing else is ever exempt.
"""

import http.client
import io
import ipaddress
import logging
import socket
import ssl
import threading
import time
import zlib
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin, urlsplit

from django.conf import settings

logger = logging.getLogger(__name__)

REDIRECT_CODES = {301, 302, 303, 307, 308}
ALLOWED_PORTS = {80, 443, 8080, 8443}
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
DEFAULT_MAX_BYTES = 3 * 1024 * 1024


def setting(name, default):
    return getattr(settings, name, default)


def allow_hosts_setting():
    return [item for item in settings.FETCH_ALLOW_HOSTS if item]


class FetchError(Exception):
    """Why a page could not be fetched; `kind` is short and stable (refused, timeout, too-large, ...)."""

    kind = "error"

    def __init__(self, message, url=""):
        super().__init__(message)
        self.message, self.url = message, url


class Refused(FetchError):
    kind = "refused"


class FetchTimeout(FetchError):
    kind = "timeout"


class TooLarge(FetchError):
    kind = "too-large"


class Unreachable(FetchError):
    kind = "unreachable"


class TooManyRedirects(FetchError):
    kind = "redirects"


@dataclass
class Fetched:
    url: str
    final_url: str
    status: int
    headers: dict  # lower-case names; repeated headers joined with ", "
    body: bytes
    hops: list = field(default_factory=list)  # [{"url", "status", "address"}], one per request made

    @property
    def content_type(self):
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self):
        for part in self.headers.get("content-type", "").split(";")[1:]:
            name, _, value = part.partition("=")
            if name.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'")
        return None


# Addresses -------------------------------------------------------------------------------------------------

def address_problem(address):
    """Why we must not connect to `address` ("loopback", "private", ...), or None when it is public."""
    ip = ipaddress.ip_address(address)
    if ip.version == 6:
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is None and ip.teredo:
            embedded = ip.teredo[1]
        if embedded is not None:
            problem = address_problem(embedded)
            return f"{problem} (inside {ip})" if problem else None
        if ip in NAT64_LOCAL:
            return "private"
    for name in ("unspecified", "loopback", "link_local", "multicast", "reserved", "private"):
        if getattr(ip, f"is_{name}"):
            return name.replace("_", "-")
    if ip.version == 6 and ip.is_site_local:
        return "site-local"
    if not ip.is_global:  # shared address space (100.64.0.0/10) and what the lists above missed
        return "not global"
    return None


class AllowList:
    """Host names, addresses and networks that may be private (FETCH_ALLOW_HOSTS)."""

    def __init__(self, entries):
        self.names, self.networks = set(), []
        for entry in entries:
            entry = entry.strip().lower().rstrip(".")
            if entry.startswith("[") and entry.endswith("]"):
                entry = entry[1:-1]
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                if entry:
                    self.names.add(entry)

    def allows(self, host, address):
        if host in self.names:
            return True
        ip = ipaddress.ip_address(address)
        return any(ip.version == network.version and ip in network for network in self.networks)


def resolve(host, port):
    """Every address `host` resolves to. The only DNS look-up the fetcher makes (tests replace it)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise Unreachable(f"{host} does not resolve: {error}") from error
    addresses = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6) and sockaddr[0] not in addresses:
            addresses.append(sockaddr[0].split("%")[0])
    if not addresses:
        raise Unreachable(f"{host} has no address")
    return addresses


# Rate limit ------------------------------------------------------------------------------------------------

class HostLimiter:
    """At most one request per host every `interval` seconds: `wait(host)` sleeps until its turn."""

    def __init__(self, interval=None, clock=time.monotonic, sleep=time.sleep):
        self.interval, self.clock, self.sleep = interval, clock, sleep
        self.next_at = {}
        self.lock = threading.Lock()

    def wait(self, host):
        interval = self.interval if self.interval is not None else float(setting("VERIFY_HOST_INTERVAL", 2.0))
        with self.lock:
            now = self.clock()
            start = max(now, self.next_at.get(host, now))
            self.next_at[host] = start + interval
            if len(self.next_at) > 10000:  # forget hosts whose turn has long passed
                self.next_at = {h: t for h, t in self.next_at.items() if t > now}
        delay = start - now
        if delay > 0:
            self.sleep(delay)
        return delay


limiter = HostLimiter()


# Connections -----------------------------------------------------------------------------------------------

class _DeadlineSocket:
    """A connected socket whose every send and receive ends by the fetch's deadline."""

    def __init__(self, sock, deadline, url):
        self.sock, self.deadline, self.url = sock, deadline, url
        self.readers, self.closed = 0, False

    def _arm(self):
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise FetchTimeout("the page took longer than the total time allowed", self.url)
        self.sock.settimeout(remaining)

    def sendall(self, data):
        self._arm()
        return self.sock.sendall(data)

    def recv_into(self, buffer):
        self._arm()
        return self.sock.recv_into(buffer)

    def makefile(self, mode="rb", buffering=None):
        self.readers += 1
        return io.BufferedReader(_SocketReader(self), buffer_size=64 * 1024)

    # As with socket.makefile(): http.client closes the connection as soon as a response says
    # "Connection: close", while the response is still being read; the socket closes with its last user.
    def close(self):
        self.closed = True
        if self.readers <= 0:
            self.sock.close()

    def reader_closed(self):
        self.readers -= 1
        if self.closed and self.readers <= 0:
            self.sock.close()


class _SocketReader(io.RawIOBase):
    def __init__(self, sock):
        self.sock = sock

    def readable(self):
        return True

    def readinto(self, buffer):
        return self.sock.recv_into(buffer)

    def close(self):
        if not self.closed:
            self.sock.reader_closed()
        super().close()


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP to the address we vetted; the host name only travels in `Host` (and SNI, for HTTPS)."""

    def __init__(self, host, port, addresses, connect_timeout, deadline, url, tls_context=None):
        super().__init__(host, port, timeout=connect_timeout)
        self.addresses, self.address = addresses, None
        self.connect_timeout, self.deadline, self.url = connect_timeout, deadline, url
        self.tls_context = tls_context

    def connect(self):
        sock, error = None, None
        for address in self.addresses:  # in the resolver's order, as browsers do; each one was vetted
            timeout = min(self.connect_timeout, self.deadline - time.monotonic())
            if timeout <= 0:
                break
            try:
                sock = socket.create_connection((address, self.port), timeout=timeout)
                self.address = address
                break
            except OSError as failure:
                error = failure
        if sock is None:
            raise error or FetchTimeout("no time left to connect", self.url)
        try:
            if self.tls_context is not None:
                sock.settimeout(max(self.deadline - time.monotonic(), 0.001))
                sock = self.tls_context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = _DeadlineSocket(sock, self.deadline, self.url)


# The fetcher -----------------------------------------------------------------------------------------------

def user_agent():
    site = setting("WAGTAILADMIN_BASE_URL", "").rstrip("/")
    return f"Byline-Verify/1.0 (+{site}; checks republished copies of this newsroom's stories)"


class Fetcher:
    def __init__(self, *, allow_hosts=None, connect_timeout=None, total_timeout=None, max_bytes=None,
                 max_redirects=5, limiter=None, tls_context=None, user_agent=None,
                 accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"):
        self.user_agent = user_agent or globals()["user_agent"]()
        self.accept = accept
        self.allow = AllowList(allow_hosts_setting() if allow_hosts is None else allow_hosts)
        self.connect_timeout = float(connect_timeout or setting("VERIFY_CONNECT_TIMEOUT", 5.0))
        self.total_timeout = float(total_timeout or setting("VERIFY_TOTAL_TIMEOUT", 15.0))
        self.max_bytes = int(max_bytes or setting("VERIFY_MAX_BYTES", DEFAULT_MAX_BYTES))
        self.max_redirects = max_redirects
        self.limiter = limiter if limiter is not None else globals()["limiter"]
        self.tls_context = tls_context or ssl.create_default_context()

    def vet(self, url):
        """(scheme, host, port, vetted addresses) for `url`, or Refused: the checks made before any connection."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as error:
            raise Refused(f"not a valid URL: {error}", url) from error
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise Refused(f"only http and https are fetched, not {scheme or 'a URL without scheme'}", url)
        if parts.username is not None or parts.password is not None:
            raise Refused("URLs with a user name or password are not fetched", url)
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise Refused("the URL has no host", url)
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError as error:
            raise Refused(f"the host name is not valid: {error}", url) from error
        port = port or (443 if scheme == "https" else 80)
        listed_name = host in self.allow.names
        addresses = resolve(host, port)
        for address in addresses:
            problem = address_problem(address)
            if problem and not (listed_name or self.allow.allows(host, address)):
                # The address stays in the server's log: editors (and, through them, partners) are not told
                # how a host resolves on our side.
                logger.warning("refused %r: %r resolves to %s, a %s address", url, host, address, problem)
                kind = problem.split(" (")[0]
                raise Refused(f"the host resolves to an address we do not fetch (private or local: {kind})", url)
        if port not in ALLOWED_PORTS and not (listed_name or all(self.allow.allows(host, a) for a in addresses)):
            raise Refused(f"port {port} is not fetched (only 80, 443, 8080 and 8443)", url)
        return scheme, host, port, addresses

    def get(self, url):
        """The page at `url` after at most `max_redirects` redirects, each hop vetted anew."""
        deadline = time.monotonic() + self.total_timeout
        hops, current = [], url
        for _ in range(self.max_redirects + 1):
            scheme, host, port, addresses = self.vet(current)
            deadline += self.limiter.wait(host) or 0  # waiting for our turn is not the server's time
            status, headers, body, address = self._request(current, scheme, host, port, addresses, deadline)
            hops.append({"url": current, "status": status, "address": address})
            location = headers.get("location")
            if status in REDIRECT_CODES and location:
                current = urljoin(current, location.strip())
                continue
            return Fetched(url=url, final_url=current, status=status, headers=headers, body=body, hops=hops)
        raise TooManyRedirects(f"more than {self.max_redirects} redirects", url)

    def post(self, url, body, headers=None):
        """POST `body` (bytes, or text sent as UTF-8) to `url` once, with `headers` besides ours, vetted as a
        hop of `get` is: scheme, port, public (or allowed) addresses, the connection pinned to the vetted
        address, the deadline and the size cap on the answer. A redirect is not followed: its 3xx is the answer
        (a body is not re-sent where a `Location` says). Connection failures are not retried here either."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        deadline = time.monotonic() + self.total_timeout
        scheme, host, port, addresses = self.vet(url)
        deadline += self.limiter.wait(host) or 0
        status, answer_headers, answer, address = self._request(url, scheme, host, port, addresses, deadline,
                                                                method="POST", body=bytes(body),
                                                                extra_headers=headers)
        return Fetched(url=url, final_url=url, status=status, headers=answer_headers, body=answer,
                       hops=[{"url": url, "status": status, "address": address}])

    def _request(self, url, scheme, host, port, addresses, deadline, method="GET", body=None, extra_headers=None):
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        target = quote(target, safe="/?&=%:@!$'()*+,;-._~")  # IRIs and stray spaces, as browsers send them
        tls = self.tls_context if scheme == "https" else None
        connection = _PinnedConnection(host, port, addresses, self.connect_timeout, deadline, url, tls)
        try:
            connection.putrequest(method, target, skip_accept_encoding=True)
            sent = {
                "User-Agent": self.user_agent,
                "Accept": self.accept,
                "Accept-Encoding": "gzip, deflate",
                "Connection": "close",
            }
            if body is not None:
                # The caller's headers (Content-Type, signatures, its own Accept...), never the framing: ours.
                for name, value in (extra_headers or {}).items():
                    if name.lower() not in ("host", "content-length", "transfer-encoding", "connection"):
                        sent = {key: old for key, old in sent.items() if key.lower() != name.lower()}
                        sent[name] = value
                sent["Content-Length"] = str(len(body))
            for name, value in sent.items():
                connection.putheader(name, value)
            connection.endheaders(body)
            response = connection.getresponse()
            headers = {}
            for name, value in response.getheaders():
                name = name.lower()
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            if response.status in REDIRECT_CODES:
                return response.status, headers, b"", connection.address
            length = headers.get("content-length", "")
            if length.isdigit() and int(length) > self.max_bytes:
                raise TooLarge(f"the page is {int(length)} bytes, more than the {self.max_bytes} allowed", url)
            body = self._read(response, headers.get("content-encoding", "").strip().lower(), url)
            return response.status, headers, body, connection.address
        except FetchError:
            raise
        except TimeoutError as error:
            raise FetchTimeout(f"timed out ({error or 'no answer in time'})", url) from error
        except ssl.SSLError as error:
            raise Unreachable(f"TLS failed: {error}", url) from error
        except (OSError, http.client.HTTPException, ValueError) as error:
            raise Unreachable(f"{type(error).__name__}: {error}", url) from error
        finally:
            connection.close()

    def _read(self, response, encoding, url):
        if encoding in ("gzip", "x-gzip"):
            decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            decoder = zlib.decompressobj()
        else:
            decoder = None
        body, received = bytearray(), 0
        while True:
            chunk = response.read(64 * 1024)
            if not chunk:
                break
            received += len(chunk)
            if received > self.max_bytes:
                raise TooLarge(f"the page is larger than the {self.max_bytes} bytes allowed", url)
            if decoder is None:
                body += chunk
                continue
            try:
                body += decoder.decompress(chunk, self.max_bytes + 1 - len(body))
            except zlib.error as error:
                raise Unreachable(f"the page's {encoding} encoding is broken: {error}", url) from error
            if len(body) > self.max_bytes or decoder.unconsumed_tail:
                raise TooLarge(f"the page unpacks to more than the {self.max_bytes} bytes allowed", url)
        return bytes(body)


def fetch(url, **options):
    return Fetcher(**options).get(url)
