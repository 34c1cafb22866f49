"""Reading a page's elements by their attributes (html.parser), so tests assert on what a page says,
not on its classes, attribute order or whitespace."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Element:
    """A start tag: its attributes, those of the form around it, and the name of the select around it."""

    tag: str
    attrs: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)
    select: str | None = None

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Element] = []
        self.form: dict[str, str] = {}
        self.select: str | None = None

    def handle_starttag(self, tag, attrs):
        values = {name: value if value is not None else "" for name, value in attrs}
        if tag == "form":
            self.form = values
        elif tag == "select":
            self.select = values.get("name")
        self.found.append(Element(tag, values, self.form, self.select))

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = {}
        elif tag == "select":
            self.select = None


def elements(html: str, tag: str | None = None, **attrs: str) -> list[Element]:
    """The page's elements (of ``tag``) whose attributes hold ``attrs`` (``data_x`` means ``data-x``)."""
    parser = _Elements()
    parser.feed(html)
    wanted = {name.replace("_", "-"): value for name, value in attrs.items()}
    return [element for element in parser.found if (tag is None or element.tag == tag)
            and all(element.attrs.get(name) == value for name, value in wanted.items())]


def selected(html: str, select_name: str) -> list[str]:
    """The values of the options selected in the select named ``select_name``."""
    return [option.attrs.get("value", "") for option in elements(html, "option")
            if option.select == select_name and "selected" in option.attrs]


def input_value(html: str, name: str) -> str | None:
    """The value an input named ``name`` shows (None: no such input)."""
    found = elements(html, "input", name=name)
    return found[0].get("value", "") if found else None


VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})


class _Texts(HTMLParser):
    """The text inside each element that carries one attribute, up to its own end tag."""

    def __init__(self, attribute: str) -> None:
        super().__init__(convert_charrefs=True)
        self.attribute = attribute
        self.reading: list[dict] = []
        self.found: list[dict] = []

    def handle_starttag(self, tag, attrs):
        for reading in self.reading:
            reading["depth"] += reading["tag"] == tag
        values = dict(attrs)
        if self.attribute in values and tag not in VOID:
            self.reading.append({"tag": tag, "depth": 1, "value": values[self.attribute] or "", "parts": [],
                                 "order": len(self.found) + len(self.reading)})

    def handle_endtag(self, tag):
        for reading in [r for r in self.reading if r["tag"] == tag]:
            reading["depth"] -= 1
            if reading["depth"] == 0:
                self.reading.remove(reading)
                self.found.append(reading)

    def handle_data(self, data):
        for reading in self.reading:
            reading["parts"].append(data)


def texts(html: str, attribute: str) -> list[tuple[str, str]]:
    """(value, text) of each element carrying ``attribute`` (e.g. "data-event"), in page order: the attribute's
    value ("" when bare) and the element's text with its whitespace collapsed."""
    parser = _Texts(attribute)
    parser.feed(html)
    return [(found["value"], " ".join("".join(found["parts"]).split()))
            for found in sorted(parser.found, key=lambda found: found["order"])]
