"""Counting readers of every copy of every story, privately.

A pixel request becomes one `Hit` row (raw, append-only, written before the GIF is answered). The counting
job (`counting.count_new_hits`) turns hits into `Rollup` rows per story, copy and hour, which every report
and "Most Popular" read. Words as in the UI: a *hit* is a request to the pixel; a *view* a hit that passed
the filters, de-duplicated per visitor and story within 30 minutes; a *reader* the first view per visitor,
story and UTC day; *filtered* hits were dropped, counted per reason.
"""

from django.db import models


class Salt(models.Model):
    """The day's random secret behind visitor keys. Only today's and yesterday's exist; older ones are
    deleted, after which nobody (us included) can link a visitor key to a person."""

    day = models.DateField(unique=True)
    secret = models.CharField(max_length=64)


class Hit(models.Model):
    """One pixel request as received. No IP address, no user agent, no cookie: only what counting needs.
    Append-only. Its one secondary index, on the time received, is how the counting job reads hits in the
    order readers made them (tracking.counting); times grow as rows are added, so the index grows at its
    end like the table itself."""

    id = models.BigAutoField(primary_key=True)
    received_at = models.DateTimeField(db_index=True)
    story_id = models.BigIntegerField(null=True)
    via = models.CharField(max_length=8, blank=True)
    copy = models.CharField(max_length=500, blank=True)
    visitor = models.CharField(max_length=16, blank=True)
    filtered = models.CharField(max_length=24, blank=True, help_text="Why it was dropped; empty if it passed.")


class JournalMark(models.Model):
    """How far into one pixel journal file (tracking.journal) the database holds every hit: written in the
    same transaction as the hits, so that recovering a dead process's journal stores each hit once."""

    journal = models.CharField(max_length=255, unique=True)
    position = models.BigIntegerField(help_text="Bytes of the journal whose hits are stored.")
    stored_until = models.DateTimeField(
        null=True, help_text="Every hit its process received before this time is stored (its clock). The "
        "counting job counts no later hit while the mark is fresh: a dead process's journal may hold some.")


class Copy(models.Model):
    """One republished page of one story (normalized URL, or the partner's origin when the browser sent no
    path), or our own site.

    A copy known only by its origin keeps that as `url`, which is what its hits carry, before and after
    Byline finds the page itself (verify.discover): the page's address is `found_url`, and reports show it
    in place of the origin, so that views and readers from before and after the finding stay one row."""

    OUR_SITE = "our-site"
    # A partner's page whose reader's browser sent neither our script's page address nor a Referer.
    UNKNOWN = "unknown"
    # The same, from a pixel of a partner's keyed feed: "partner:<id>", so its readers count for the partner.
    PARTNER_PAGE = "partner:"

    FOUND, SEVERAL, NONE = "found", "several", "none"
    FOUND_CHOICES = [(FOUND, "Found by Byline"), (SEVERAL, "Several pages carry the story"),
                     (NONE, "No page found")]

    story_id = models.BigIntegerField()
    url = models.CharField(max_length=500)
    host = models.CharField(max_length=255, blank=True, db_index=True,
                            help_text="The partner's host; empty for our site.")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    found_url = models.CharField(max_length=500, blank=True,
                                 help_text="The page's full address, found by Byline (origin-only copies).")
    found_status = models.CharField(max_length=8, blank=True, choices=FOUND_CHOICES,
                                    help_text="What looking for the page found; empty: not looked yet.")
    found_note = models.CharField(max_length=1000, blank=True,
                                  help_text="The pages found when several were, or what was read when none was.")
    found_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["story_id", "url"], name="copy_unique_per_story")]

    def __str__(self):
        if self.url.startswith(self.PARTNER_PAGE):
            return f"a page of partner {self.url[len(self.PARTNER_PAGE):]} (no address sent)"
        return {self.OUR_SITE: "our site", self.UNKNOWN: "unknown page (no address sent)"}.get(
            self.url, self.address)

    def save(self, *args, **kwargs):
        self.host = host_of_copy(self.url)
        super().save(*args, **kwargs)

    @classmethod
    def partner_page(cls, partner_id):
        return f"{cls.PARTNER_PAGE}{int(partner_id)}"

    @property
    def address(self):
        """The page's address: as hits named it, or as Byline found it for an origin-only copy."""
        return self.found_url or self.url

    @property
    def is_origin_only(self):
        return self.url.startswith(("http://", "https://")) and "/" not in self.url.partition("://")[2]

    @property
    def is_own(self):
        return self.url == self.OUR_SITE

    def finding(self):
        """What reports say of how the page is known, for copies known only by their site; "" otherwise."""
        if not self.is_origin_only:
            return ""
        if self.found_status == self.FOUND:
            return f"Found by Byline: readers' browsers sent only {self.url}."
        if self.found_status == self.SEVERAL:
            return (f"Several pages on this site carry the story ({self.found_note}); their hits cannot be told "
                    "apart.")
        if self.found_status == self.NONE:
            return "Only the site is known: Byline found no page with this story in its feeds and sitemaps."
        return "Only the site is known: Byline has not looked for the page yet."


def host_of_copy(url):
    from .copies import host_of

    return host_of(url) if url.startswith(("http://", "https://")) else ""


class Rollup(models.Model):
    """Counts per story, copy and hour: what every report reads."""

    story_id = models.BigIntegerField()
    copy = models.ForeignKey(Copy, on_delete=models.CASCADE, related_name="rollups")
    own = models.BooleanField(default=False)
    hour = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)
    views = models.PositiveIntegerField(default=0)
    readers = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["copy", "hour"], name="rollup_unique_per_copy_hour")]
        indexes = [
            # Covers Most Popular (a range of hours, summed per story): read from the index alone, never the rows.
            models.Index(fields=["hour", "own", "story_id", "readers"], name="rollup_popular_covering"),
            models.Index(fields=["story_id", "hour"]),
        ]


class FilteredCount(models.Model):
    """Hits dropped by the filters, per hour and reason, so editors can see what was not counted and why."""

    hour = models.DateTimeField()
    reason = models.CharField(max_length=24)
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "reason"], name="filtered_unique_per_hour")]


class Visit(models.Model):
    """Per visitor key and story: when the last view was and on which UTC day the visitor last counted as
    a reader. Keys change with the daily salt, so rows older than two days are deleted with it."""

    visitor = models.CharField(max_length=16)
    story_id = models.BigIntegerField()
    last_view_at = models.DateTimeField()
    reader_day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["visitor", "story_id"], name="visit_unique")]
        indexes = [models.Index(fields=["last_view_at"])]


class Cursor(models.Model):
    """How far a counting job has read its table: by id (appeal events), or by the time hits were received
    (`counted_until`, the pixel's hits: every hit received before it is counted)."""

    name = models.CharField(max_length=40, unique=True)
    last_id = models.BigIntegerField(default=0)
    counted_until = models.DateTimeField(null=True)
