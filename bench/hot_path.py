"""The pixel's two hand-written pieces against the standard library they replace, side by side in one run.

    .venv/bin/python bench/hot_path.py [--calls 200000]

- the visitor key's HMAC-SHA256 (tracking/visitors.py `_keyed_sha256`: the day's key hashed into its inner
  and outer pads once, two hash objects copied per hit) against `hmac.new(key, message, "sha256")` made per
  hit, `hmac.new(key).copy()` (what the hand-written code does, through the hmac module) and OpenSSL's
  one-shot `hmac.digest`; each row checks that it gives the same digest;
- the percent-decoding of the `?url=` address our pixels send (tracking/hits.py `_unquote_plus`) against
  `urllib.parse.unquote_plus`, on addresses as our script encodes them, with other escapes, and with
  non-ASCII ones (where the hand-written one hands over to urllib).

Each figure is the best of five runs of `--calls` calls, in microseconds per call, and the ratio to the
standard library's row. A hand-written piece stays only while its ratio is well below 1.
"""

import hashlib
import hmac
import sys
import time
from pathlib import Path
from urllib.parse import quote, unquote_plus

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common


def best_us(fn, args, calls):
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for i in range(calls):
            fn(args[i % len(args)])
        best = min(best, time.perf_counter() - t0)
    return best / calls * 1e6


def main(args):
    common.setup_django()
    from tracking.hits import _unquote_plus
    from tracking.visitors import _keyed_sha256

    calls = args.calls
    key = b"a day's salt: 32 random bytes...."
    messages = [f"198.51.100.{n}\nMozilla/5.0 (X11; Linux x86_64) Chrome/131.{n}\npartner{n}.example".encode()
                for n in range(100)]
    keyed = _keyed_sha256(key)
    keyed_module = hmac.new(key, digestmod=hashlib.sha256)

    def hand_written(message):
        inner, outer = keyed[0].copy(), keyed[1].copy()
        inner.update(message)
        outer.update(inner.digest())
        return outer.hexdigest()

    def module_copy(message):
        mac = keyed_module.copy()
        mac.update(message)
        return mac.hexdigest()

    rows = {
        "hmac.new(key, message, sha256) per hit": lambda m: hmac.new(key, m, hashlib.sha256).hexdigest(),
        "hmac.digest (OpenSSL one-shot)": lambda m: hmac.digest(key, m, "sha256").hex(),
        "hmac.new(key) once, .copy() per hit": module_copy,
        "hand-written: keyed pads once, two hash copies per hit (_keyed_sha256)": hand_written,
    }
    expected = [hmac.new(key, m, hashlib.sha256).hexdigest() for m in messages]
    for name, fn in rows.items():
        assert [fn(m) for m in messages] == expected, f"{name} gives another digest"
    hmac_times = {name: best_us(fn, messages, calls) for name, fn in rows.items()}

    plain = [quote(f"https://partner{n}.example/news/2026/12/harbor-cleanup-{n}/", safe="") for n in range(100)]
    escaped = [quote(f"https://partner{n}.example/a b/?q=x&y={n}#top", safe="") for n in range(100)]
    foreign = [quote(f"https://partner{n}.example/café/{n}/", safe="") for n in range(100)]
    url_times = {}
    for label, values in (("as our script encodes them", plain), ("with other escapes", escaped),
                          ("with non-ASCII characters", foreign)):
        assert [_unquote_plus(v) for v in values] == [unquote_plus(v) for v in values]
        url_times[label] = (best_us(unquote_plus, values, calls), best_us(_unquote_plus, values, calls))

    print(f"HMAC-SHA256 of a visitor (us per key, best of 5 x {calls:,}):")
    reference = hmac_times["hmac.new(key, message, sha256) per hit"]
    common.table(["Way", "us", "ratio to hmac.new"],
                 [[name, f"{value:.2f}", f"{value / reference:.2f}"] for name, value in hmac_times.items()])
    print(f"\nDecoding the ?url= address (us per address, best of 5 x {calls:,}):")
    common.table(["Addresses", "urllib unquote_plus", "_unquote_plus", "ratio"],
                 [[label, f"{lib:.2f}", f"{own:.2f}", f"{own / lib:.2f}"] for label, (lib, own) in url_times.items()])
    return 0


if __name__ == "__main__":
    parser = common.parser(__doc__)
    parser.add_argument("--calls", type=int, default=200_000, help="calls per timed run (default 200000)")
    arguments = parser.parse_args()
    sys.exit(common.run(main, arguments))
