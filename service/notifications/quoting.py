"""Caller-supplied text made safe to show an operator: one line, quoted, length-capped.

Item titles reach failure reasons, and failure reasons reach operator e-mails and SMS. A line
break in a title could otherwise forge lines of an alert ("Next steps: call +1 ..."); quoted and on
one line, it reads as what it is, a customer's text. Used where a failure reason is written
(service/orders/fulfilment.py) and again where the operator message is rendered, because the
notification function trusts nothing it reads from the topic. Standard library only: this folder
is the Lambda function's whole package.
"""

from __future__ import annotations

import json
import unicodedata

# Control and format characters (bidi overrides, zero-width), line and paragraph separators, and
# every kind of space: each run becomes one plain space. `str.splitlines` breaks on several of
# these (\x1c-\x1e, \x85, \u2028, \u2029), and so do some mail and SMS clients.
_NOT_ON_ONE_LINE = frozenset({"Cc", "Cf", "Zl", "Zp", "Zs"})


def one_line(text: str) -> str:
    """`text` on one line: line breaks, controls and runs of spaces become single spaces."""
    cleaned = "".join(" " if unicodedata.category(c) in _NOT_ON_ONE_LINE else c for c in text)
    return " ".join(cleaned.split())


def clip(text: str, limit: int) -> str:
    """At most `limit` characters; a clipped text ends in "..." so the cut is visible."""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def quoted(text: str, limit: int) -> str:
    """`text` on one line, clipped to `limit` characters, in double quotes (inner quotes and
    backslashes escaped), so where it starts and ends is never in doubt."""
    return json.dumps(clip(one_line(text), limit), ensure_ascii=False)
