"""Wire items get an agency: their identity becomes (agency, uri) instead of the uri alone (issue #17).

An item pushed with a token is that token's agency's; any other item is the agency of its story's current
origin (what the importer set from the item), else of the origin recorded with it, else of the story whose
lead image it is; a picture with none of these is the "Unnamed wire service"'s, as an item naming no origin
would be today. 0003 then makes the agency required and unique with the uri.
"""

import django.db.models.deletion
from django.db import migrations, models

UNNAMED_ORIGIN = "Unnamed wire service"  # wire.importer.UNNAMED_ORIGIN, copied: migrations keep their own values


def give_items_an_agency(apps, schema_editor):
    Origin = apps.get_model("stories", "Origin")
    StoryPage = apps.get_model("stories", "StoryPage")
    AgencyToken = apps.get_model("wire", "AgencyToken")
    WireItem = apps.get_model("wire", "WireItem")

    token_agency = {}
    for token in AgencyToken.objects.all():
        source = f"push: {token.name}"[:200]
        # Two tokens of one name for different agencies: their items cannot be told apart by source.
        token_agency[source] = token.origin_id if token_agency.get(source, token.origin_id) == token.origin_id else None
    unnamed = None
    for item in WireItem.objects.filter(agency__isnull=True).select_related("story").iterator():
        agency_id = (
            token_agency.get(item.source)
            or (item.story.origin_id if item.story_id else None)
            or item.origin_id
        )
        if agency_id is None and item.image_id:
            lead = (StoryPage.objects.filter(lead_image_id=item.image_id, origin__isnull=False)
                    .order_by("pk").values_list("origin_id", flat=True).first())
            agency_id = lead
        if agency_id is None:
            if unnamed is None:
                unnamed, _ = Origin.objects.get_or_create(
                    name=UNNAMED_ORIGIN, defaults={"kind": "wire", "may_republish": False, "short_name": UNNAMED_ORIGIN}
                )
            agency_id = unnamed.pk
        WireItem.objects.filter(pk=item.pk).update(agency_id=agency_id)


class Migration(migrations.Migration):

    dependencies = [
        ('stories', '0004_newsroomsettings_popular_counts_copies_and_more'),
        ('wire', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='wireitem',
            name='agency',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='stories.origin'),
        ),
        migrations.RunPython(give_items_an_agency, migrations.RunPython.noop),
    ]
