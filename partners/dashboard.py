"""The Partners view in the admin: per partner, its copies, views, readers, last copy and last feed fetch; and
one partner's copies per story. Figures from tracking's rollups (`tracking.api.copies_report`) over a range
of UTC days (`tracking.api.period_from`)."""

from tracking.api import copies_report

from .models import Partner


def partner_rows(period):
    rows = []
    for partner in Partner.objects.prefetch_related("sites"):
        report = copies_report(partner.copies(), period.since, period.until)
        rows.append({
            "partner": partner,
            "sites": [site.host for site in partner.sites.all()],
            "copies": len(report["copies"]),
            "views": report["totals"]["views"],
            "readers": report["totals"]["readers"],
            "last_copy": report["last_seen"],
        })
    rows.sort(key=lambda row: (-row["readers"], row["partner"].name))
    return rows


def partner_detail(partner, period):
    return {"partner": partner, **copies_report(partner.copies(), period.since, period.until)}
