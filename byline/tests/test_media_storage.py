"""Where media goes, as the environment says: local disk for one host, an S3-compatible bucket for several.

Each variable is checked through the URL the storage then builds for a picture, which is what readers get.
"""

import importlib.util
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from storages.backends.s3 import S3Storage

from byline.settings.base import media_storage_from_env

VARIABLES = [
    "BYLINE_MEDIA_BUCKET", "BYLINE_MEDIA_ENDPOINT_URL", "BYLINE_MEDIA_REGION", "BYLINE_MEDIA_ACCESS_KEY_ID",
    "BYLINE_MEDIA_SECRET_ACCESS_KEY", "BYLINE_MEDIA_CUSTOM_DOMAIN", "BYLINE_MEDIA_LOCATION",
    "BYLINE_MEDIA_QUERYSTRING_AUTH", "BYLINE_SERVE_MEDIA",
]
PICTURE = "original_images/harbor.jpg"


@pytest.fixture
def environ(monkeypatch):
    """The process environment with none of the media variables, for the test to set."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def set_variables(**variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return set_variables


def storage(config):
    assert config["BACKEND"] == "storages.backends.s3.S3Storage"
    return S3Storage(**config["OPTIONS"])


def test_without_a_bucket_media_stays_on_local_disk(environ):
    assert media_storage_from_env() == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def test_a_bucket_alone_gives_public_aws_urls_and_leaves_credentials_to_boto3(environ):
    environ(BYLINE_MEDIA_BUCKET="ledger-media")

    config = media_storage_from_env()

    assert config["OPTIONS"] == {
        "bucket_name": "ledger-media", "location": "", "querystring_auth": False, "signature_version": "s3v4",
        "file_overwrite": False,
    }, "no region, key or secret: django-storages and boto3 find them (AWS_* variables, instance role)"
    assert storage(config).url(PICTURE) == "https://ledger-media.s3.amazonaws.com/original_images/harbor.jpg"


@pytest.mark.parametrize(("variables", "url"), [
    ({"BYLINE_MEDIA_ENDPOINT_URL": "https://s3.garage.internal:3900"},
     "https://s3.garage.internal:3900/ledger-media/original_images/harbor.jpg"),
    ({"BYLINE_MEDIA_ENDPOINT_URL": "https://abc123.r2.cloudflarestorage.com",
      "BYLINE_MEDIA_CUSTOM_DOMAIN": "media.harborledger.org"},
     "https://media.harborledger.org/original_images/harbor.jpg"),
    ({"BYLINE_MEDIA_CUSTOM_DOMAIN": "http://127.0.0.1:9000/ledger-media/"},
     "http://127.0.0.1:9000/ledger-media/original_images/harbor.jpg"),
    ({"BYLINE_MEDIA_LOCATION": "/ledger/"}, "https://ledger-media.s3.amazonaws.com/ledger/original_images/harbor.jpg"),
    ({"BYLINE_MEDIA_LOCATION": "ledger", "BYLINE_MEDIA_CUSTOM_DOMAIN": "cdn.harborledger.org"},
     "https://cdn.harborledger.org/ledger/original_images/harbor.jpg"),
], ids=["endpoint", "custom-domain", "custom-domain-with-scheme-and-path", "location", "location-on-custom-domain"])
def test_each_variable_shapes_the_public_url(environ, variables, url):
    environ(BYLINE_MEDIA_BUCKET="ledger-media", **variables)

    assert storage(media_storage_from_env()).url(PICTURE) == url


def test_a_custom_endpoint_is_addressed_path_style(environ):
    environ(BYLINE_MEDIA_BUCKET="ledger-media", BYLINE_MEDIA_ENDPOINT_URL="http://minio:9000")

    options = media_storage_from_env()["OPTIONS"]

    assert (options["endpoint_url"], options["addressing_style"]) == ("http://minio:9000", "path")


def test_querystring_auth_signs_urls_with_the_given_key_and_region(environ):
    environ(
        BYLINE_MEDIA_BUCKET="ledger-media", BYLINE_MEDIA_QUERYSTRING_AUTH="1", BYLINE_MEDIA_REGION="us-west-2",
        BYLINE_MEDIA_ACCESS_KEY_ID="LEDGERKEY", BYLINE_MEDIA_SECRET_ACCESS_KEY="ledger-secret",
    )

    config = media_storage_from_env()
    query = parse_qs(urlsplit(storage(config).url(PICTURE)).query)

    assert (config["OPTIONS"]["access_key"], config["OPTIONS"]["secret_key"]) == ("LEDGERKEY", "ledger-secret")
    assert query["X-Amz-Credential"][0].startswith("LEDGERKEY/")
    assert "/us-west-2/s3/" in query["X-Amz-Credential"][0], "signed with SigV4, for the given region"
    assert query["X-Amz-Signature"]


@pytest.mark.parametrize("variables", [{}, {"BYLINE_MEDIA_QUERYSTRING_AUTH": "0"}], ids=["unset", "0"])
def test_urls_are_not_signed_unless_asked(environ, variables):
    environ(BYLINE_MEDIA_BUCKET="ledger-media", BYLINE_MEDIA_ACCESS_KEY_ID="LEDGERKEY",
            BYLINE_MEDIA_SECRET_ACCESS_KEY="ledger-secret", **variables)

    assert urlsplit(storage(media_storage_from_env()).url(PICTURE)).query == ""


def load_settings():
    """A fresh copy of byline/settings/base.py, read under the current environment."""
    path = Path(__file__).resolve().parents[1] / "settings" / "base.py"
    spec = importlib.util.spec_from_file_location("byline_settings_probe", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_with_a_bucket_byline_does_not_serve_media_itself(environ):
    environ(BYLINE_MEDIA_BUCKET="ledger-media")

    settings = load_settings()

    assert settings.STORAGES["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert settings.SERVE_MEDIA is False


def test_on_local_disk_byline_serves_media_unless_a_front_server_does(environ):
    assert load_settings().SERVE_MEDIA is True
    environ(BYLINE_SERVE_MEDIA="0")
    assert load_settings().SERVE_MEDIA is False
