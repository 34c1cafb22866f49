"""Fill the English catalogue from its source strings: the msgids are English already.

Usage: python scripts/fill_en_catalogue.py translations/en/LC_MESSAGES/messages.po
"""

import sys

from babel.messages.pofile import read_po, write_po


def main(path: str) -> None:
    with open(path, "rb") as handle:
        catalogue = read_po(handle, locale="en")
    for message in catalogue:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            message.string = tuple(message.id[min(i, 1)] for i in range(len(message.string) or 2))
        else:
            message.string = message.id
        message.flags.discard("fuzzy")
    with open(path, "wb") as handle:
        write_po(handle, catalogue, sort_output=True, omit_header=False, width=100)


if __name__ == "__main__":
    main(sys.argv[1])
