"""Plain text from handout HTML, for partners whose CMS takes text only: blocks separated by blank lines,
list items bulleted, and each link's address kept in brackets after its words so no link is lost."""

from html.parser import HTMLParser

BLOCKS = {"p", "h1", "h2", "h3", "h4", "li", "blockquote"}


class _TextWriter(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks, self.current, self.hrefs = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag in BLOCKS:
            self._flush()
            if tag == "li":
                self.current.append("• ")
        elif tag == "a":
            self.hrefs.append(dict(attrs).get("href"))

    def handle_endtag(self, tag):
        if tag == "a" and self.hrefs:
            href = self.hrefs.pop()
            if href:
                self.current.append(f" ({href})")
        elif tag in BLOCKS:
            self._flush()

    def handle_data(self, data):
        self.current.append(data)

    def _flush(self):
        text = " ".join("".join(self.current).split())
        if text and text != "•":
            self.blocks.append(text)
        self.current = []

    def text(self):
        self._flush()
        return "\n\n".join(self.blocks)


def html_to_text(html):
    writer = _TextWriter()
    writer.feed(html)
    writer.close()
    return writer.text()
