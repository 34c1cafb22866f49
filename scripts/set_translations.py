"""Set zh_CN translations from a JSON object {msgid: msgstr} on stdin (a maintenance aid).

Usage: python scripts/set_translations.py < new.json   (then `pybabel compile -d translations`)
"""

import json
import sys

from babel.messages.pofile import read_po, write_po

PATH = "translations/zh_CN/LC_MESSAGES/messages.po"


def main() -> None:
    wanted = json.load(sys.stdin)
    with open(PATH, "rb") as handle:
        catalogue = read_po(handle, locale="zh_CN")
    unknown = set(wanted)
    for message in catalogue:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in wanted:
            message.string = (wanted[key],) if isinstance(message.id, tuple) else wanted[key]
            message.flags.discard("fuzzy")
            unknown.discard(key)
    with open(PATH, "wb") as handle:
        write_po(handle, catalogue, sort_output=True, width=100)
    if unknown:
        sys.exit(f"not in the catalogue: {sorted(unknown)}")


if __name__ == "__main__":
    main()
