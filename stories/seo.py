"""What search engines and social sites read about a story: schema.org NewsArticle and Open Graph."""


def news_article(story, site, newsroom, image_url=None):
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": story.title[:110],
        "mainEntityOfPage": story.full_url,
        "url": story.full_url,
        "datePublished": story.published_at.isoformat() if story.published_at else None,
        "dateModified": (story.updated_at or story.last_published_at or story.published_at).isoformat()
        if story.published_at else None,
        "author": [{"@type": "Person", "name": author.name} for author in story.authors],
        "publisher": {"@type": "NewsMediaOrganization", "name": newsroom.outlet_name, "url": site.root_url},
        "articleSection": story.section.title,
        "isAccessibleForFree": True,
    }
    if story.dek:
        data["description"] = story.dek
    if image_url:
        data["image"] = [image_url]
    keywords = [tag.name for tag in story.tags.all()]
    if keywords:
        data["keywords"] = keywords
    return {key: value for key, value in data.items() if value is not None}
