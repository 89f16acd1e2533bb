"""Media on several hosts: with BYLINE_MEDIA_BUCKET set, pictures, their renditions and documents live in an
S3-compatible bucket, and any host shows what any other uploaded.

The bucket is moto's S3 server on loopback, which, like S3, refuses anonymous reads unless a bucket policy
allows them. Each "host" is a storage object built afresh by the settings function production uses, with its
own empty MEDIA_ROOT that must still be empty when it is done: nothing may depend on one machine's disk.
"""

import io
import json
import shutil
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit

import boto3
import lxml.html
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.images import ImageFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from moto.server import ThreadedMotoServer
from PIL import Image as PILImage
from wagtail.documents.models import Document
from wagtail.models import Collection

# byline/urls.py hands MEDIA_ROOT to its media view once, on import: that must happen under the suite's own
# settings, not a host's below, or the tests after these would look for local media in a deleted directory.
import byline.urls  # noqa: F401
from byline.settings.base import media_storage_from_env
from images.factories import BylineImageFactory, gradient_jpeg
from images.models import BylineImage
from stories.factories import StoryPageFactory, paragraphs
from stories.models import SectionPage, StoryPage
from wire.ninjs import Picture
from wire.pictures import save_image

pytestmark = pytest.mark.django_db

LOCATION = "ledger"


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class Bucket:
    def __init__(self, endpoint, name):
        self.endpoint, self.name = endpoint, name
        self.client = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="byline-test", aws_secret_access_key="byline-test-secret",
        )
        self.client.create_bucket(Bucket=name)

    def keys(self):
        return {entry["Key"] for entry in self.client.list_objects_v2(Bucket=self.name).get("Contents", [])}

    def body(self, key):
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def allow_public_read(self, prefix):
        """The bucket policy the README gives: anyone may read media, nobody else may list or write."""
        self.client.put_bucket_policy(Bucket=self.name, Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "PublicReadMedia", "Effect": "Allow", "Principal": "*",
                "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{self.name}/{prefix}/*",
            }],
        }))


@pytest.fixture
def bucket(s3_endpoint, monkeypatch):
    """A new public-read bucket, named in the environment the way an operator would."""
    bucket = Bucket(s3_endpoint, f"ledger-media-{uuid.uuid4().hex[:12]}")
    bucket.allow_public_read(LOCATION)
    for name, value in {
        "BYLINE_MEDIA_BUCKET": bucket.name,
        "BYLINE_MEDIA_ENDPOINT_URL": s3_endpoint,
        "BYLINE_MEDIA_REGION": "us-east-1",
        "BYLINE_MEDIA_ACCESS_KEY_ID": "byline-test",
        "BYLINE_MEDIA_SECRET_ACCESS_KEY": "byline-test-secret",
        "BYLINE_MEDIA_LOCATION": LOCATION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("BYLINE_MEDIA_CUSTOM_DOMAIN", "BYLINE_MEDIA_QUERYSTRING_AUTH"):
        monkeypatch.delenv(name, raising=False)
    return bucket


@contextmanager
def web_host(media_root):
    """One of the newsroom's hosts: a storage object of its own, built from the environment, an empty local
    media directory, and a client with no session."""
    media_root.mkdir()
    with override_settings(STORAGES={**settings.STORAGES, "default": media_storage_from_env()}, MEDIA_ROOT=media_root):
        yield Client()
    assert list(media_root.iterdir()) == [], "the host wrote media to its own disk"


def fetch(url):
    """(status, content type, body) of a plain GET, as a reader's browser or a CDN would send it."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def picture_size(data):
    with PILImage.open(io.BytesIO(data)) as picture:
        return picture.size


def picture_urls(html):
    """Every picture address a story page hands out: its images, the social card and the JSON-LD image."""
    document = lxml.html.document_fromstring(html)
    urls = document.xpath("//img[not(contains(@class, 'pixel'))]/@src")  # the counting pixel is not media
    urls += document.xpath("//meta[@property='og:image']/@content")
    for script in document.xpath("//script[@type='application/ld+json']/text()"):
        urls += json.loads(script).get("image", [])
    return set(urls)


def jpeg_file(name, size=(1600, 900)):
    return ImageFile(io.BytesIO(gradient_jpeg(size=size)), name=name)


def test_an_upload_through_the_admin_lands_in_the_bucket_and_so_do_its_renditions(bucket, tmp_path,
                                                                                     django_user_model):
    jpeg = gradient_jpeg(size=(800, 450), label="Harbor at dawn")
    editor = django_user_model.objects.create_superuser("editor", "editor@ledger.example", "pw")

    with web_host(tmp_path / "host-a") as client:
        client.force_login(editor)
        response = client.post(reverse("wagtailimages:add"), {
            "title": "Harbor at dawn", "credit": "Staff photographer",
            "collection": Collection.get_first_root_node().pk,
            "file": SimpleUploadedFile("harbor-at-dawn.jpg", jpeg, content_type="image/jpeg"),
        })
        assert response.status_code == 302, response.content.decode()[:2000]
        image = BylineImage.objects.get(title="Harbor at dawn")
        rendition = image.get_rendition("width-400")
        original_url, rendition_url = image.file.url, rendition.url

    assert bucket.keys() == {"ledger/original_images/harbor-at-dawn.jpg", "ledger/images/harbor-at-dawn.width-400.jpg"}
    public = f"{bucket.endpoint}/{bucket.name}/ledger"
    assert original_url == f"{public}/original_images/harbor-at-dawn.jpg"
    assert rendition_url == f"{public}/images/harbor-at-dawn.width-400.jpg"
    assert fetch(original_url) == (200, "image/jpeg", jpeg)
    status, content_type, body = fetch(rendition_url)
    assert (status, content_type) == (200, "image/jpeg")
    assert body == bucket.body("ledger/images/harbor-at-dawn.width-400.jpg")
    assert picture_size(body) == (400, 225)


def test_a_second_host_shows_a_story_whose_pictures_the_first_uploaded(bucket, tmp_path, news):
    with web_host(tmp_path / "host-a"):
        lead = BylineImageFactory(title="Pier at low tide", file=jpeg_file("pier.jpg"))
        inline = BylineImageFactory(title="Ferry dock", file=jpeg_file("ferry.jpg", size=(1000, 750)))
        story = StoryPageFactory(parent=news, lead_image=lead, body=paragraphs("<p>The tide went out.</p>") + [
            ("image", {"image": inline, "caption": "The ferry dock at noon."}),
        ])
    originals = {"ledger/original_images/pier.jpg", "ledger/original_images/ferry.jpg"}
    assert bucket.keys() == originals
    shutil.rmtree(tmp_path / "host-a")  # as if the first host were gone

    with web_host(tmp_path / "host-b") as client:
        response = client.get(story.url)
    assert response.status_code == 200
    urls = picture_urls(response.content)
    # The lead image as shown, its social card (og:image and JSON-LD) and the picture in the body, each
    # made by this host on first request from the original in the bucket, and stored there.
    assert len(urls) == 3
    assert all(url.startswith(f"{bucket.endpoint}/{bucket.name}/ledger/images/") for url in urls), urls
    renditions = bucket.keys() - originals
    assert {f"{bucket.endpoint}/{bucket.name}/{key}" for key in renditions} == urls
    for url in urls:
        status, content_type, body = fetch(url)
        assert (status, content_type) == (200, "image/jpeg"), url
        assert picture_size(body)

    with web_host(tmp_path / "host-c") as client:
        again = client.get(story.url)
    assert picture_urls(again.content) == urls
    assert bucket.keys() == originals | renditions, "a third host uses the renditions already made"


def test_every_picture_of_the_demo_newsroom_shows_through_a_second_host(bucket, tmp_path, site):
    """Issue #16: with media on each host's own disk, 9 of 20 pictures were 404 through the second host."""
    with web_host(tmp_path / "host-a"):
        call_command("load_demo", "--no-admin", stdout=io.StringIO())
    shutil.rmtree(tmp_path / "host-a")

    pages = ["/"] + [page.url for page in SectionPage.objects.all()] + [page.url for page in StoryPage.objects.all()]
    with web_host(tmp_path / "host-b") as client:
        urls = set()
        for page in pages:
            response = client.get(page)
            assert response.status_code == 200, page
            urls |= picture_urls(response.content)

    pictured = StoryPage.objects.filter(lead_image__isnull=False).count()
    assert pictured >= 10 and len(urls) >= 2 * pictured, "each pictured story shows its picture and its card"
    assert all(url.startswith(f"{bucket.endpoint}/{bucket.name}/ledger/images/") for url in urls), urls
    assert [url for url in urls if fetch(url)[0] != 200] == []


def test_two_uploads_with_the_same_file_name_keep_both_pictures(bucket, tmp_path):
    with web_host(tmp_path / "host-a"):
        first = BylineImageFactory(file=jpeg_file("photo.jpg", size=(320, 180)))
    with web_host(tmp_path / "host-b"):
        second = BylineImageFactory(file=jpeg_file("photo.jpg", size=(640, 360)))
        urls = first.file.url, second.file.url

    assert first.file.name == "original_images/photo.jpg" != second.file.name
    assert bucket.keys() == {f"ledger/{first.file.name}", f"ledger/{second.file.name}"}
    assert [picture_size(fetch(url)[2]) for url in urls] == [(320, 180), (640, 360)]


def test_a_wire_picture_is_kept_in_the_bucket(bucket, tmp_path):
    jpeg = gradient_jpeg(size=(640, 360))
    picture = Picture(uri="urn:agency:pier-fire", headline="Fire on the pier", credit="Agency photographer")

    with web_host(tmp_path / "host-a"):
        image = save_image(picture, jpeg, "jpg", "https://photos.agency.example/2026/pier-fire.jpg?size=large")
        url = image.file.url

    assert bucket.keys() == {"ledger/original_images/pier-fire.jpg"}
    assert fetch(url) == (200, "image/jpeg", jpeg)


def test_a_document_is_kept_in_the_bucket_and_its_link_leads_there(bucket, tmp_path):
    with web_host(tmp_path / "host-a"):
        document = Document.objects.create(title="Budget", file=ContentFile(b"%PDF-1.4 budget", name="budget.pdf"))
    assert bucket.keys() == {"ledger/documents/budget.pdf"}

    with web_host(tmp_path / "host-b") as client:
        response = client.get(document.url)
    assert response.status_code == 302
    assert response["Location"] == f"{bucket.endpoint}/{bucket.name}/ledger/documents/budget.pdf"
    assert fetch(response["Location"]) == (200, "application/pdf", b"%PDF-1.4 budget")


def test_a_custom_domain_is_what_pages_link_to(bucket, tmp_path, monkeypatch):
    # moto under another name than the endpoint's stands in for a CDN or the bucket's public host name.
    port = urlsplit(bucket.endpoint).port
    monkeypatch.setenv("BYLINE_MEDIA_CUSTOM_DOMAIN", f"http://localhost:{port}/{bucket.name}")

    with web_host(tmp_path / "host-a"):
        image = BylineImageFactory(file=jpeg_file("skyline.jpg", size=(320, 180)))
        url = image.get_rendition("fill-160x90").url

    assert url.startswith(f"http://localhost:{port}/{bucket.name}/ledger/images/skyline.")
    assert fetch(url)[0] == 200


def test_signed_urls_open_a_private_bucket(bucket, tmp_path, monkeypatch):
    bucket.client.delete_bucket_policy(Bucket=bucket.name)
    monkeypatch.setenv("BYLINE_MEDIA_QUERYSTRING_AUTH", "1")

    with web_host(tmp_path / "host-a"):
        url = BylineImageFactory(file=jpeg_file("embargoed.jpg", size=(320, 180))).file.url

    assert "X-Amz-Signature=" in url
    assert fetch(url)[0] == 200
    assert fetch(url.split("?")[0])[0] == 403, "without the signature the bucket refuses"
