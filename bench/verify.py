#!/usr/bin/env python3
"""Copy verification benchmark: republished copies of a 2,000-word story checked per second on one core,
parsing and comparing only (no network, no database).

    .venv/bin/python bench/verify.py                 # about 30 seconds
    .venv/bin/python bench/verify.py --seconds 2 --rounds 3

What it does, in one process pinned to one CPU:
1. migrates an in-memory SQLite database (the test settings) and makes one story of 2,000 words: 34
   paragraphs of varied length, three subheadings, a quote, a link every third paragraph, a lead image and
   an inline image; builds its handout (republish.handout.build_handout) and the original once
   (verify.original.original_for: the per-story cost, paid once per run of many copies);
2. makes partner pages as the fetcher would return them (UTF-8 bytes): the handout pasted whole into a news
   site's template (head with canonical and noindex, header, menu, sidebar, footer: about 20 KB), and
   copies with something wrong: an edited copy (three paragraphs reworded, one dropped, one added, links
   removed, no pixel), a truncated copy, and a copy that is another page entirely;
3. times what verifying one copy costs once its bytes are in: decode, parse (lxml), every check
   (verify.checks.run_checks: pixel, credit, links, canonical, noindex, images, headline, text alignment
   with word diffs); `--rounds` rounds of `--seconds` each per page, the median round reported;
4. prints copies per second per kind of page and for a mix (70% faithful, 20% edited, 10% truncated),
   against the goal of 50 copies per second on one core.
"""

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 50.0

WORDS = """
harbor council budget dredging channel residents fishermen vote mayor port authority waterfront plan million
dollars tenants ferry school board reading June members public hearing testimony report state federal grant
money contract engineers study tides storm seawall repair cost years families business owners downtown pier
marina boats cargo shipping lane permit county commission meeting agenda minutes record audit finance director
spokesperson statement interview data analysis records request deadline
""".split()


def sentence(rng):
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 22))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def story_blocks(rng, target_words=2000):
    """(kind, value) blocks of about `target_words` words."""
    blocks, words, n = [], 0, 0
    while words < target_words:
        n += 1
        text = " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))
        if n % 3 == 0:
            head, _, tail = text.partition(" ")
            text = f'{head} <a href="https://example.org/records/{n}">{tail.split(".")[0]}</a>.{tail.partition(".")[2]}'
        blocks.append(("paragraph", f"<p>{text}</p>"))
        words += len(text.split())
        if n in (8, 17, 26):
            blocks.append(("heading", sentence(rng).rstrip(".")))
        if n == 12:
            blocks.append(("quote", {"text": sentence(rng), "attribution": "A harbor pilot"}))
    return blocks


def setup():
    os.environ["DJANGO_SETTINGS_MODULE"] = "byline.settings.test"
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_story(rng):
    import io

    from django.core.files.images import ImageFile
    from wagtail.models import Page, Site
    from wagtail.rich_text import RichText

    from images.factories import BylineImageFactory, gradient_jpeg
    from stories.factories import AuthorFactory, SectionPageFactory, StoryPageFactory
    from stories.models import HomePage

    home = HomePage.objects.first()
    if home is None:
        root = Page.get_first_root_node()
        home = root.add_child(instance=HomePage(title="Home", slug="home"))
    site = Site.objects.filter(is_default_site=True).first() or Site(is_default_site=True)
    site.hostname, site.port, site.root_page = "news.example", 443, home
    site.save()
    section = SectionPageFactory(parent=home, title="News", slug="news")

    def picture(name):
        jpeg = gradient_jpeg(size=(64, 36))
        return BylineImageFactory(title=name, file=ImageFile(io.BytesIO(jpeg), name=f"{name}.jpg"))

    inline = picture("harbor-pier")
    body = []
    for kind, value in story_blocks(rng):
        body.append((kind, RichText(value) if kind == "paragraph" else value))
        if len(body) == 20:
            body.append(("image", {"image": inline, "caption": "The pier"}))
    return StoryPageFactory(parent=section, title="The harbor plan, explained", dateline_place="PORT ALDER",
                            lead_image=picture("harbor-dawn"), body=body,
                            authors=[AuthorFactory(name="Rosa Delgado"), AuthorFactory(name="Sam Ortiz")])


def partner_page(head, article, title):
    sidebar = "".join(f'<li><a href="/news/{i}/">Other headline number {i} about the town</a></li>' for i in range(12))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} – The Partner Gazette</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><meta property="og:title" content="{title}">
{head}<link rel="stylesheet" href="/assets/site.css"><script src="/assets/site.js" defer></script>
<script>window.dataLayer=window.dataLayer||[];
function gtag(){{dataLayer.push(arguments);}}gtag('js',new Date());</script>
</head><body class="single-post"><header class="site-header"><a class="logo" href="/">The Partner Gazette</a>
<nav><ul>{''.join(f'<li><a href="/section/{i}/">Section {i}</a></li>' for i in range(10))}</ul></nav></header>
<main><article class="post"><div class="entry-content">{article}</div>
<div class="share"><p>Share this:</p><a href="https://facebook.com/share">Facebook</a> <a href="https://x.com/share">X</a></div></article>
<aside class="sidebar"><h2>Most read</h2><ul>{sidebar}</ul></aside></main>
<footer class="site-footer"><p>© 2026 The Partner Gazette. All rights reserved.</p>
<p>{' '.join(sentence(random.Random(7)) for _ in range(6))}</p></footer></body></html>"""


def pages(handout, rng):
    import re

    html = handout.html
    paragraphs = re.findall(r"<p>(?:(?!</p>).)+</p>", html)
    body = [p for p in paragraphs if "<em>" not in p][3:]
    edited = re.sub(r"<img [^>]*/pixel/[^>]*>", "", html)
    for p in body[5:8]:
        words = p[3:-4].split(" ")
        for i in rng.sample(range(len(words)), k=min(4, len(words))):
            if "<" not in words[i] and ">" not in words[i]:
                words[i] = "reworded"
        edited = edited.replace(p, "<p>" + " ".join(words) + "</p>")
    edited = edited.replace(body[10], "").replace(body[14], body[14] + "<p>A paragraph the partner wrote itself, "
                                                                       "with some words of its own.</p>")
    edited = re.sub(r'<a href="https://example.org/records/(9|18)">(.*?)</a>', r"\2", edited)
    truncated = html[: html.index(body[len(body) // 2])]
    other = "".join(f"<p>{sentence(rng)} {sentence(rng)}</p>" for _ in range(30))
    title = "The harbor plan, explained"
    return {
        "faithful": partner_page(handout.head, html, title).encode(),
        "edited": partner_page(handout.head, edited, title).encode(),
        "truncated": partner_page(handout.head, truncated, title).encode(),
        "another page": partner_page("", other, "Something else").encode(),
    }


def measure(original, body, seconds, rounds):
    from verify.checks import run_checks
    from verify.page import CopyPage, decode

    def once():
        page = CopyPage(decode(body, "utf-8"), "https://partner.example/2026/harbor-plan/", {})
        return run_checks(original, page)

    report = once()
    for _ in range(20):  # warm up
        once()
    rates = []
    for _ in range(rounds):
        count, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            once()
            count += 1
        rates.append(count / elapsed)
    return statistics.median(rates), rates, report


def main(args):
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    started = time.perf_counter()
    setup()
    from republish.handout import build_handout
    from republish.models import RepublishingPolicy
    from verify.original import original_for

    rng = random.Random(2026)
    story = build_story(rng)
    policy = RepublishingPolicy.for_site(story.get_site())
    handout = build_handout(story, policy)
    t0 = time.perf_counter()
    original = original_for(story, policy)
    original_ms = (time.perf_counter() - t0) * 1000
    words = sum(len(p.split()) for p in original.paragraphs)
    samples = pages(handout, rng)
    print(f"Setup {time.perf_counter() - started:.1f} s. Python {platform.python_version()}, "
          f"{platform.machine()}, pinned to 1 CPU. Story: {words} words in {len(original.paragraphs)} blocks, "
          f"{len(original.links)} links; original built once in {original_ms:.1f} ms.\n")
    print("| Page | Size | Result | Copies/s (median) | ms per copy | rounds |")
    print("|---|---:|---|---:|---:|---|")
    results = {}
    for name, body in samples.items():
        rate, rates, report = measure(original, body, args.seconds, args.rounds)
        results[name] = rate
        outcome = ", ".join(report.failing) or "compliant"
        print(f"| {name} | {len(body) / 1024:.0f} KB | {outcome} | {rate:,.0f} | {1000 / rate:.1f} | "
              f"{', '.join(f'{r:.0f}' for r in rates)} |")
    mix = 1 / (0.7 / results["faithful"] + 0.2 / results["edited"] + 0.1 / results["truncated"])
    print(f"| mix 70/20/10 | | | {mix:,.0f} | {1000 / mix:.1f} | |")
    worst = min(results.values())
    verdict = "met" if worst >= GOAL else "NOT met"
    print(f"\nGoal: at least {GOAL:.0f} copies per second on one core, for every kind of page: {verdict} "
          f"(slowest {worst:,.0f}/s).")
    return 0 if worst >= GOAL else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one timed round per page")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per page (the median is reported)")
    sys.exit(main(parser.parse_args()))
