"""Fetching partners' pages safely: only the public web (unless a host is allowed by name), at every
redirect, on the address we checked; with time and size limits, an honest name and a per-host pace.

DNS is replaced at `byline.fetch.resolve`, the one function that looks names up; connections really go to
the partner site on loopback.
"""

import gzip
import ipaddress
import re
import socket
import threading
import time

import pytest

from byline import fetch
from byline.fetch import (
    Fetcher,
    FetchTimeout,
    HostLimiter,
    Refused,
    TooLarge,
    TooManyRedirects,
    Unreachable,
    address_problem,
)


@pytest.fixture
def dns(monkeypatch):
    """Fake DNS: `dns[name] = [addresses]`; every look-up is recorded in `dns.lookups`. Addresses written
    as such resolve to themselves, as with the real resolver."""

    class FakeDNS(dict):
        lookups = []

    table = FakeDNS()

    def resolve(host, port):
        table.lookups.append(host)
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        if host not in table:
            raise Unreachable(f"{host} does not resolve")
        return table[host]

    monkeypatch.setattr(fetch, "resolve", resolve)
    return table


class NoWait:
    def wait(self, host):
        return 0


def fetcher(allow=(), **options):
    return Fetcher(allow_hosts=list(allow), limiter=NoWait(), **options)


@pytest.mark.parametrize("address, problem", [
    ("127.0.0.1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.9", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),  # cloud metadata
    ("100.100.100.200", "not global"),  # Alibaba's metadata, in the shared CGNAT range
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fd00:ec2::254", "private"),  # AWS metadata over IPv6
    ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "loopback (inside ::ffff:7f00:1)"),
    ("::ffff:169.254.169.254", "link-local (inside ::ffff:a9fe:a9fe)"),
    ("64:ff9b::a9fe:a9fe", "link-local (inside 64:ff9b::a9fe:a9fe)"),  # NAT64
    ("2002:7f00:1::", "loopback (inside 2002:7f00:1::)"),  # 6to4
    ("93.184.215.14", None),
    ("2606:4700:4700::1111", None),
    ("::ffff:93.184.215.14", None),
])
def test_only_public_addresses_may_be_fetched(address, problem):
    assert address_problem(address) == problem


@pytest.mark.parametrize("url, reason", [
    ("file:///etc/passwd", "only http and https are fetched, not file"),
    ("ftp://partner.example/story", "only http and https are fetched, not ftp"),
    ("gopher://partner.example:70/", "only http and https are fetched, not gopher"),
    ("//partner.example/story", "only http and https are fetched, not a URL without scheme"),
    ("http://user:secret@partner.example/", "URLs with a user name or password are not fetched"),
    ("http:///story", "the URL has no host"),
    ("http://partner.example:99999/", "not a valid URL: Port out of range 0-65535"),
])
def test_only_plain_web_addresses_are_fetched(dns, url, reason):
    with pytest.raises(Refused) as refused:
        fetcher().get(url)
    assert refused.value.message == reason
    assert dns.lookups == []


def test_a_host_resolving_to_a_private_address_is_refused_before_connecting(dns, partner):
    dns["partner.example"] = ["127.0.0.1"]
    with pytest.raises(Refused) as refused:
        fetcher().get(partner.url("/story/", host="partner.example"))
    assert refused.value.message == "the host resolves to an address we do not fetch (private or local: loopback)"
    assert partner.requests == []


def test_a_host_with_any_private_address_among_public_ones_is_refused(dns):
    dns["partner.example"] = ["93.184.215.14", "10.0.0.7"]
    with pytest.raises(Refused, match=r"we do not fetch \(private or local: private\)$"):
        fetcher().get("https://partner.example/story/")


def test_an_allowed_host_is_fetched_at_the_address_it_was_vetted_at(dns, partner):
    """Allowed by name, the host's private address is used as resolved once: no second look-up."""
    dns["partner.example"] = ["127.0.0.1"]
    partner.html("/story/", "<h1>Hello</h1>")
    page = fetcher(allow=["partner.example"]).get(partner.url("/story/", host="partner.example"))
    assert (page.status, page.body) == (200, b"<h1>Hello</h1>")
    assert dns.lookups == ["partner.example"]
    assert page.hops == [{"url": partner.url("/story/", host="partner.example"), "status": 200, "address": "127.0.0.1"}]
    ((_, headers),) = partner.requests
    assert headers["Host"] == f"partner.example:{partner.port}"


def test_allowed_addresses_and_networks_work_too(dns, partner):
    partner.html("/story/", "<p>ok</p>")
    dns["intranet.example"] = ["127.0.0.1"]
    assert fetcher(allow=["127.0.0.1"]).get(partner.url("/story/")).status == 200
    assert fetcher(allow=["127.0.0.0/8"]).get(partner.url("/story/", host="intranet.example")).status == 200
    with pytest.raises(Refused):
        fetcher(allow=["10.0.0.0/8", "other.example"]).get(partner.url("/story/", host="intranet.example"))


def test_the_allow_list_comes_from_the_setting(dns, partner, settings):
    dns["intranet.example"] = ["127.0.0.1"]
    partner.html("/story/", "<p>ok</p>")
    settings.FETCH_ALLOW_HOSTS = ["intranet.example"]
    assert Fetcher(limiter=NoWait()).get(partner.url("/story/", host="intranet.example")).status == 200
    settings.FETCH_ALLOW_HOSTS = []
    with pytest.raises(Refused):
        Fetcher(limiter=NoWait()).get(partner.url("/story/", host="intranet.example"))


def test_a_redirect_to_a_private_address_is_refused(dns, partner):
    dns["partner.example"] = ["127.0.0.1"]
    partner.pages["/story/"] = (302, {"Location": partner.url("/admin/secrets")}, b"")
    partner.html("/admin/secrets", "<p>internal</p>")
    with pytest.raises(Refused) as refused:
        fetcher(allow=["partner.example"]).get(partner.url("/story/", host="partner.example"))
    assert refused.value.message == "the host resolves to an address we do not fetch (private or local: loopback)"
    assert refused.value.url == partner.url("/admin/secrets")
    assert partner.paths() == ["/story/"]


def test_a_redirect_to_the_metadata_address_is_refused(dns, partner):
    dns["partner.example"] = ["127.0.0.1"]
    partner.pages["/story/"] = (301, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")
    with pytest.raises(Refused, match=r"we do not fetch \(private or local: link-local\)$"):
        fetcher(allow=["partner.example"]).get(partner.url("/story/", host="partner.example"))


def test_a_redirect_to_a_host_that_is_allowed_is_followed(dns, partner):
    dns["partner.example"] = ["127.0.0.1"]
    partner.pages["/story/"] = (308, {"Location": partner.url("/2026/story/")}, b"")
    partner.html("/2026/story/", "<p>moved</p>")
    page = fetcher(allow=["partner.example", "127.0.0.1"]).get(partner.url("/story/", host="partner.example"))
    assert page.final_url == partner.url("/2026/story/") and page.body == b"<p>moved</p>"
    assert [hop["status"] for hop in page.hops] == [308, 200]
    assert dns.lookups == ["partner.example", "127.0.0.1"]


def test_numeric_and_mapped_spellings_of_loopback_are_refused(partner):
    """The real resolver reads these without asking DNS: the address is what is checked, not the spelling."""
    for host in ("2130706433", "0x7f000001", "127.1", "[::ffff:127.0.0.1]", "localhost"):
        with pytest.raises(Refused, match="loopback"):
            fetcher().get(f"http://{host}:{partner.port}/")
    assert partner.requests == []


def test_addresses_with_spaces_or_other_scripts_are_sent_as_browsers_send_them(partner):
    partner.html("/caf%C3%A9/a%20b?q=%C3%A9t%C3%A9", "<p>ok</p>")
    page = fetcher(allow=["127.0.0.1"]).get(partner.url("/café/a b?q=été"))
    assert page.status == 200 and partner.paths() == ["/caf%C3%A9/a%20b?q=%C3%A9t%C3%A9"]


def test_public_hosts_are_only_fetched_on_web_ports(dns):
    dns["partner.example"] = ["93.184.215.14"]
    with pytest.raises(Refused, match="port 25 is not fetched"):
        fetcher().get("http://partner.example:25/")


def test_redirect_loops_end(partner):
    partner.pages["/a"] = (302, {"Location": "/b"}, b"")
    partner.pages["/b"] = (302, {"Location": "/a"}, b"")
    with pytest.raises(TooManyRedirects):
        fetcher(allow=["127.0.0.1"], max_redirects=3).get(partner.url("/a"))
    assert len(partner.requests) == 4


def test_pages_over_the_size_cap_are_refused(partner):
    partner.html("/declared", "x" * 2000)
    with pytest.raises(TooLarge, match="the page is 2000 bytes, more than the 1000 allowed"):
        fetcher(allow=["127.0.0.1"], max_bytes=1000).get(partner.url("/declared"))

    def chunked(handler, site):  # no Content-Length: the cap applies while reading
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for _ in range(20):
            handler.wfile.write(b"200\r\n" + b"y" * 512 + b"\r\n")
        handler.wfile.write(b"0\r\n\r\n")

    partner.pages["/chunked"] = chunked
    with pytest.raises(TooLarge, match="larger than the 4000 bytes allowed"):
        fetcher(allow=["127.0.0.1"], max_bytes=4000).get(partner.url("/chunked"))


def test_compressed_pages_are_unpacked_within_the_cap(partner):
    partner.pages["/small.gz"] = (200, {"Content-Type": "text/html", "Content-Encoding": "gzip"},
                                  gzip.compress(b"<p>" + b"words " * 100 + b"</p>"))
    partner.pages["/bomb.gz"] = (200, {"Content-Type": "text/html", "Content-Encoding": "gzip"},
                                 gzip.compress(b"\0" * 5_000_000))
    page = fetcher(allow=["127.0.0.1"], max_bytes=10_000).get(partner.url("/small.gz"))
    assert page.body == b"<p>" + b"words " * 100 + b"</p>"
    assert partner.requests[0][1]["Accept-Encoding"] == "gzip, deflate"
    with pytest.raises(TooLarge, match="unpacks to more than the 10000 bytes allowed"):
        fetcher(allow=["127.0.0.1"], max_bytes=10_000).get(partner.url("/bomb.gz"))


def stall_after(headers_sent):
    def handler(handler, site):
        if headers_sent:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html")
            handler.send_header("Content-Length", "100000")
            handler.end_headers()
            handler.wfile.write(b"<p>a start")
            handler.wfile.flush()
        site.release.wait(10)

    return handler


@pytest.mark.parametrize("headers_sent", [False, True], ids=["no answer", "body stalls"])
def test_a_page_that_takes_too_long_times_out(partner, headers_sent):
    partner.pages["/slow"] = stall_after(headers_sent)
    with pytest.raises(FetchTimeout):
        fetcher(allow=["127.0.0.1"], total_timeout=0.3).get(partner.url("/slow"))


def test_a_server_that_does_not_accept_the_connection_times_out():
    """A listening socket whose queue is full drops new connection attempts: connecting times out."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    queued = []
    try:
        while True:  # fill the accept queue until a connection attempt is left hanging
            client = socket.socket()
            client.settimeout(0.2)
            queued.append(client)
            try:
                client.connect(("127.0.0.1", port))
            except TimeoutError:
                break
        with pytest.raises(FetchTimeout):
            fetcher(allow=["127.0.0.1"], connect_timeout=0.2, total_timeout=5).get(f"http://127.0.0.1:{port}/")
    finally:
        for client in queued:
            client.close()
        server.close()


def test_the_total_deadline_holds_against_a_server_that_drips_headers(partner):
    """Each byte comes before a per-read timeout would fire; the total deadline still ends the fetch."""
    drip = threading.Event()

    def dripping(handler, site):
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        while not site.release.is_set():
            handler.wfile.write(b"X-Drip: 1\r\n")
            handler.wfile.flush()
            drip.wait(0.02)

    partner.pages["/drip"] = dripping
    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        fetcher(allow=["127.0.0.1"], total_timeout=0.5).get(partner.url("/drip"))
    assert time.monotonic() - started < 1.5


def test_requests_to_one_host_are_paced_and_other_hosts_do_not_wait():
    now, slept = [100.0], []
    limiter = HostLimiter(interval=2.0, clock=lambda: now[0], sleep=slept.append)
    assert limiter.wait("partner.example") == 0
    assert limiter.wait("other.example") == 0
    assert limiter.wait("partner.example") == 2.0
    now[0] += 0.5
    assert limiter.wait("partner.example") == 3.5  # queued behind the one waiting
    now[0] += 10
    assert limiter.wait("partner.example") == 0
    assert slept == [2.0, 3.5]


def test_the_fetcher_waits_its_turn_for_each_host(dns, partner):
    dns["partner.example"] = ["127.0.0.1"]
    partner.html("/a", "<p>a</p>")
    waited = []

    class Recorder:
        def wait(self, host):
            waited.append(host)

    Fetcher(allow_hosts=["partner.example"], limiter=Recorder()).get(partner.url("/a", host="partner.example"))
    assert waited == ["partner.example"]


def test_a_server_that_closes_the_connection_after_its_answer_is_read_to_the_end(partner):
    """Most servers answer our "Connection: close" in kind; http.client then closes the connection while the
    body is still being read, which must not cut the body off."""
    partner.html("/closing/", "<p>" + "word " * 20000 + "</p>", Connection="close")
    page = fetcher(allow=["127.0.0.1"]).get(partner.url("/closing/"))
    assert page.status == 200 and page.body.endswith(b"word </p>") and len(page.body) == 100007


IP_ADDRESS = re.compile(r"\b\d{1,3}(\.\d{1,3}){3}\b|[0-9a-f]*:[0-9a-f]*:[0-9a-f:.]*", re.IGNORECASE)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.5", "169.254.169.254", "::1", "::ffff:10.0.0.5",
                                     "fd00::5", "100.64.0.1"])
def test_a_refusal_never_tells_how_the_host_resolved_on_our_side(dns, address, caplog):
    """Issue #17, finding 7: editors (and, through wire pictures, agencies) see that the address is not
    fetched, never which address it was; the server's log keeps it."""
    dns["partner.example"] = [address]
    with caplog.at_level("WARNING", logger="byline.fetch"), pytest.raises(Refused) as refused:
        fetcher().get("https://partner.example/story/")
    message = refused.value.message
    assert message.startswith("the host resolves to an address we do not fetch (private or local")
    assert not IP_ADDRESS.search(message), message
    assert address in caplog.text
