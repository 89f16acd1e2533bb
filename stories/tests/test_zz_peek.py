import pytest
from stories.tests.test_feeds import *  # noqa
def test_peek(client, newsroom, story, culture):
    StoryPageFactory(parent=culture, title="Tom & Jerry's <b>")
    print(client.get("/feeds/atom/").content.decode())
    print(client.get("/feeds/culture/rss/").content.decode())
