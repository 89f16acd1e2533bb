import json
import secrets

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from byline.sanitize import clean_embed, clean_html

register = template.Library()

# Characters that would let JSON end a <script> element or open a comment inside it.
_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.filter
def clean(html):
    """Rich text (expanded from Wagtail's storage format) reduced to the story allowlist."""
    return mark_safe(clean_html(str(html)))


@register.filter
def json_ld(data):
    return mark_safe(json.dumps(data, ensure_ascii=False).translate(_SCRIPT_ESCAPES))


def encode_email(address):
    """XOR the address with a random one-byte key, hex-encoded with the key first.

    Address harvesters read the HTML source; only a browser running our script turns this back into a link.
    """
    key = secrets.randbelow(255) + 1
    return f"{key:02x}" + "".join(f"{byte ^ key:02x}" for byte in address.encode("utf-8"))


@register.simple_tag
def protected_email(address):
    if not address:
        return ""
    return format_html(
        '<span class="protected-email" data-email="{}">[email address hidden: turn on JavaScript to see it]</span>',
        encode_email(address),
    )


@register.simple_tag
def rendition_img(rendition, **attributes):
    """`<img>` for a rendition the page has already fetched: what `{% image %}` writes, without the look-up."""
    return rendition.img_tag(attributes) if rendition else ""


@register.filter(name="clean_embed")
def clean_embed_filter(html):
    return mark_safe(clean_embed(html))
