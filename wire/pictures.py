"""Pictures named in ninjs items: pick a rendition, fetch it safely, keep it as an image with its credit.

Fetching goes through byline/fetch.py (the one guarded HTTP client: public addresses only, time and size
limits); `BYLINE_FETCH_ALLOW_HOSTS` names private hosts an agency's pictures may come from (tests, intranets).
"""

import io
import warnings
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.images import ImageFile
from django.utils.text import slugify
from PIL import Image as PILImage

from byline.fetch import Fetcher, FetchError, HostLimiter
from images.models import BylineImage

IMAGE_TYPES = {"image/jpeg": "jpg", "image/jpg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
PIL_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
MAX_PIXELS = 60_000_000
TRIES = 3


class PictureError(Exception):
    pass


def fetcher():
    return Fetcher(
        connect_timeout=settings.WIRE_FETCH_CONNECT_TIMEOUT,
        total_timeout=settings.WIRE_FETCH_TOTAL_TIMEOUT,
        max_bytes=settings.WIRE_IMAGE_MAX_BYTES,
        limiter=HostLimiter(interval=0),
        user_agent="Byline-Wire/1.0 (fetches pictures delivered with wire copy)",
        accept="image/jpeg,image/png,image/webp,image/gif;q=0.9",
    )


def candidates(renditions):
    """Renditions worth trying, best first: image types we can show, the largest that fits our limit."""
    usable = []
    for rendition in renditions:
        ctype = rendition["contenttype"].split(";")[0].strip()
        if ctype and ctype not in IMAGE_TYPES:
            continue
        if not ctype and PurePosixPath(urlsplit(rendition["href"]).path).suffix.lower().lstrip(".") not in {
            "jpg", "jpeg", "png", "gif", "webp",
        }:
            continue
        if rendition["sizeinbytes"] and rendition["sizeinbytes"] > settings.WIRE_IMAGE_MAX_BYTES:
            continue
        watermarked = "watermark" in (rendition["name"] + rendition["href"]).lower()
        area = (rendition["width"] or 0) * (rendition["height"] or 0)
        usable.append((watermarked, -area, rendition))
    usable.sort(key=lambda entry: entry[:2])
    return [rendition for *_, rendition in usable]


def fetch_picture(picture, get=None):
    """(bytes, file extension, the URL it came from) for the best rendition that can be fetched, or
    PictureError saying what went wrong with each one tried."""
    options = candidates(picture.renditions)
    if not options:
        raise PictureError("it has no rendition in a format we show (JPEG, PNG, GIF or WebP)")
    get = get or fetcher().get
    problems = []
    for rendition in options[:TRIES]:
        try:
            fetched = get(rendition["href"])
        except FetchError as error:
            problems.append(f"{rendition['href']}: {error}")
            continue
        ctype = fetched.content_type
        if fetched.status != 200:
            problems.append(f"{rendition['href']}: HTTP {fetched.status}")
        elif ctype not in IMAGE_TYPES:
            problems.append(f"{rendition['href']}: served as {ctype or 'no content type'}, not an image")
        else:
            try:
                return fetched.body, check_image(fetched.body), rendition["href"]
            except PictureError as error:
                problems.append(f"{rendition['href']}: {error}")
    raise PictureError("; ".join(problems))


def check_image(data):
    """The file extension for `data` if Pillow reads it, every pixel of it, as a picture of a sane size,
    else PictureError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as image:
                width, height = image.size
                kind = image.format
                if kind not in PIL_FORMATS:
                    raise PictureError(f"a {kind} picture, not JPEG, PNG, GIF or WebP")
                # Refused on its header alone: decoding is what a bomb's declared size would cost.
                if width * height > MAX_PIXELS:
                    raise PictureError(f"{width}x{height} pixels is more than we keep")
                image.verify()
            # verify() reads a PNG's checksums but not a JPEG's data: a truncated or corrupt file passes it
            # and fails later, when the first rendition is made. Decoding every pixel now finds it here.
            with PILImage.open(io.BytesIO(data)) as image:
                image.load()
    except PictureError:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        raise PictureError("the picture is too large to decode") from None
    except PILImage.UnidentifiedImageError:
        raise PictureError("not a picture: no image format we know") from None
    except Exception as error:  # Pillow raises many kinds for a broken file; all mean the same here
        raise PictureError(f"not a readable picture ({type(error).__name__}: {error})"[:300]) from None
    return PIL_FORMATS[kind]


def save_image(picture, data, extension, url, collection=None):
    """A new image from fetched bytes, with the caption and credit the agency gave."""
    title = picture.headline or picture.caption or "Wire picture"
    stem = slugify(PurePosixPath(urlsplit(url).path).stem)[:60] or "wire-picture"
    image = BylineImage(
        title=title[:255],
        credit=picture.credit[:255],
        source=picture.source[:255],
        default_caption=picture.caption,
        file=ImageFile(io.BytesIO(data), name=f"{stem}.{extension}"),
    )
    if collection is not None:
        image.collection = collection
    image.save()
    return image
