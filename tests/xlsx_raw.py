"""Reading an exported XLSX package as XML (zipfile and ElementTree, not openpyxl): what a spreadsheet
application sees of each cell."""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree

from tests.helpers import FORMULA_STARTS

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _xml(package: zipfile.ZipFile, name: str) -> ElementTree.Element:
    return ElementTree.fromstring(package.read(name))  # noqa: S314 - the app's own export, in a test


def _quote_prefixed_styles(package: zipfile.ZipFile) -> set[int]:
    """Indexes of the cell formats (cellXfs) with quotePrefix="1"."""
    formats = _xml(package, "xl/styles.xml").findall(f"{MAIN}cellXfs/{MAIN}xf")
    return {index for index, xf in enumerate(formats) if xf.get("quotePrefix") in ("1", "true")}


def _text(cell: ElementTree.Element, shared: list[str]) -> str | None:
    if cell.get("t") == "inlineStr":
        return "".join(node.text or "" for node in cell.iter(f"{MAIN}t"))
    if cell.get("t") == "s":
        return shared[int(cell.find(f"{MAIN}v").text)]
    return None


def assert_xlsx_inert(data: bytes) -> int:
    """No worksheet of the package holds a formula, every text cell that starts like one is a string cell
    with a quote-prefixed format, and none begins with an apostrophe added to hide it. Returns how many
    such cells there are."""
    package = zipfile.ZipFile(io.BytesIO(data))
    prefixed = _quote_prefixed_styles(package)
    shared = []
    if "xl/sharedStrings.xml" in package.namelist():
        root = _xml(package, "xl/sharedStrings.xml")
        shared = ["".join(node.text or "" for node in item.iter(f"{MAIN}t")) for item in root]
    found = 0
    for name in package.namelist():
        if not name.startswith("xl/worksheets/"):
            continue
        for cell in _xml(package, name).iter(f"{MAIN}c"):
            assert cell.find(f"{MAIN}f") is None, (name, cell.get("r"))
            text = _text(cell, shared)
            assert text is not None or cell.get("t") in (None, "n", "b"), (name, cell.get("r"), cell.get("t"))
            if text is not None and text.lstrip("'").startswith(FORMULA_STARTS):
                assert not text.startswith("'"), (cell.get("r"), text)
                assert int(cell.get("s", "0")) in prefixed, (cell.get("r"), text)
                found += 1
    return found
