from wagtail import blocks
from wagtail.embeds.blocks import EmbedBlock
from wagtail.images.blocks import ImageChooserBlock

# What an editor may use inside a paragraph: the formatting a story needs and links.
PARAGRAPH_FEATURES = ["bold", "italic", "link", "ol", "ul", "h2", "h3", "h4", "blockquote"]


class ParagraphBlock(blocks.RichTextBlock):
    def __init__(self, **kwargs):
        super().__init__(features=PARAGRAPH_FEATURES, **kwargs)

    class Meta:
        icon = "pilcrow"
        template = "stories/blocks/paragraph.html"


class HeadingBlock(blocks.CharBlock):
    class Meta:
        icon = "title"
        template = "stories/blocks/heading.html"


class QuoteBlock(blocks.StructBlock):
    text = blocks.TextBlock()
    attribution = blocks.CharBlock(required=False)

    class Meta:
        icon = "openquote"
        template = "stories/blocks/quote.html"


class InlineImageBlock(blocks.StructBlock):
    image = ImageChooserBlock()
    caption = blocks.CharBlock(required=False, help_text="Leave empty to use the image's own caption.")

    class Meta:
        icon = "image"
        template = "stories/blocks/image.html"


class StoryEmbedBlock(EmbedBlock):
    class Meta:
        icon = "media"
        template = "stories/blocks/embed.html"


class StoryBodyBlock(blocks.StreamBlock):
    paragraph = ParagraphBlock()
    heading = HeadingBlock()
    quote = QuoteBlock()
    image = InlineImageBlock()
    embed = StoryEmbedBlock()
