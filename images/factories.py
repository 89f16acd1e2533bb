import io

import factory
import wagtail_factories
from django.core.files.images import ImageFile
from PIL import Image, ImageDraw
from wagtail.models import Collection

from .models import BylineImage


def gradient_jpeg(colors=("#1d3557", "#a8dadc"), size=(1600, 900), label=""):
    """A lead image drawn locally: a two-colour gradient with a faint label, as JPEG bytes."""
    top, bottom = (Image.new("RGB", (1, 1), c).getpixel((0, 0)) for c in colors)
    width, height = size
    strip = Image.new("RGB", (1, height))
    for y in range(height):
        t = y / max(height - 1, 1)
        strip.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    picture = strip.resize(size)
    if label:
        ImageDraw.Draw(picture).text((40, height - 60), label, fill=(255, 255, 255))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=82)
    return buffer.getvalue()


def root_collection():
    """The collection editors' uploads go to (the migrations make it; re-made after a transactional test's flush)."""
    return Collection.get_first_root_node() or Collection.add_root(name="Root")


class BylineImageFactory(wagtail_factories.ImageFactory):
    """An image in the root collection, as an editor's upload is (wagtail_factories would make a collection per
    image)."""

    class Meta:
        model = BylineImage

    collection = factory.LazyFunction(root_collection)
    title = factory.Sequence(lambda n: f"Picture {n}")
    credit = "Staff photographer"
    file = factory.LazyAttributeSequence(
        lambda o, n: ImageFile(io.BytesIO(gradient_jpeg(size=(320, 180))), name=f"picture-{n}.jpg")
    )
