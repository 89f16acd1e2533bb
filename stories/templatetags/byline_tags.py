import json
import re
import secrets

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from byline.sanitize import clean_embed, clean_html, visible_controls

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


@register.simple_tag
def agency(origin):
    """An agency or partner as a byline names it: its abbreviation explained (`<abbr title>`), else its name."""
    if origin is None:
        return ""
    if origin.abbreviation:
        return format_html('<abbr title="{}">{}</abbr>', origin.name, origin.abbreviation)
    return origin.name


_SUBJECTS = {"her": "She is", "him": "He is", "them": "They are"}


@register.simple_tag
def author_intro(author):
    """Who wrote the story, with the name said once and in bold. A bio that opens with the name ("Rosa Delgado
    has covered housing…") keeps it there and the role follows as "She is …"; otherwise the name leads the
    role after the bio, as before."""
    bio, name = " ".join(author.bio.split()), author.name
    opens_with_name = name and bio[: len(name)].casefold() == name.casefold() and not bio[len(name):][:1].isalnum()
    if opens_with_name:
        intro = format_html("<strong>{}</strong>{}", bio[: len(name)], bio[len(name):])
        if author.role:
            intro = format_html("{} {} {}.", intro, _SUBJECTS.get(author.pronoun, "They are"), author.role)
        return intro
    role = format_html(" is {}", author.role) if author.role else ""
    return format_html("{}<strong>{}</strong>{}.", f"{bio} " if bio else "", name, role)


@register.filter
def explain_agency(text, origin):
    """`text` (a caption, a picture credit: "CPA Photo") with the story's agency abbreviation, where it first
    appears in it, explained as the byline does: readers may meet it there before they reach the byline."""
    short = origin.abbreviation if origin is not None else ""
    match = re.search(rf"(?<!\w){re.escape(short)}(?!\w)", text or "") if short else None
    if match is None:
        return text
    return format_html('{}<abbr title="{}">{}</abbr>{}', text[: match.start()], origin.name, short,
                       text[match.end():])


@register.filter(name="clean_embed")
def clean_embed_filter(html):
    return mark_safe(clean_embed(html))


# Stands for one hidden character; "\x00" never survives visible_controls, so it cannot be forged by the text.
_HIDDEN = "\x00{:04X}\x00"
_HIDDEN_MARK = re.compile(r"\x00([0-9A-F]{4,6})\x00")


@register.filter
def inert(text):
    """Text from outside (a copy's URL or host, a partner's page) escaped, with every control, bidirectional
    or zero-width character shown as a marked `<U+202E>` instead of acting on the text around it."""
    marked = escape(visible_controls(text, show=_HIDDEN.format))
    return mark_safe(_HIDDEN_MARK.sub(
        r'<mark class="hidden-character" title="An invisible or control character">&lt;U+\1&gt;</mark>', marked))
