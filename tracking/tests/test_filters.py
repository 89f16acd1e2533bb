"""The bot filter's crawler check: CrawlerDetect's own lists and verdicts, at a price anyone can be charged."""

import re

from crawlerdetect import CrawlerDetect
from crawlerdetect.providers.crawlers import data as CRAWLERS

from tracking import filters

BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
    "Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
    "Safari/537.36",
]
# The crawler patterns that are plain names, as a crawler would put them in its agent.
NAMES = [pattern for pattern in CRAWLERS if not re.search(r"[\\\[\](){}.*+?|^$]", pattern)]


def test_the_check_agrees_with_crawlerdetect_on_browsers_and_on_every_crawler_it_names():
    reference = CrawlerDetect()
    agents = BROWSERS + NAMES + [f"Mozilla/5.0 (compatible; {name}/2.1; +https://example.org/bot)" for name in NAMES]
    assert len(NAMES) > 1000
    disagreements = [agent for agent in agents if filters.is_crawler(agent) != reference.isCrawler(agent)]
    assert disagreements == []
    assert not any(filters.is_crawler(agent) for agent in BROWSERS)
    assert sum(filters.is_crawler(name) for name in NAMES) > 1000


def test_the_pattern_that_looks_ahead_keeps_its_meaning():
    assert "Yandex(?!Search)" in CRAWLERS
    assert filters.is_crawler("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)")
    assert not filters.is_crawler("Mozilla/5.0 (Linux; Android 14) YandexSearch/24.1")


def test_an_agent_of_nothing_but_browser_tokens_or_blanks_is_not_a_crawler():
    assert not filters.is_crawler("Mozilla/5.0 (X11; Linux x86_64)")
    assert not filters.is_crawler("   ")


def test_a_long_hostile_agent_is_judged_like_any_other():
    assert filters.is_crawler("(" * 500 + "a" * 400 + " bot")
    assert not filters.is_crawler("Mozilla/5.0 " + "(" * 900)
