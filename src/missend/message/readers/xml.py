"""XML parsing for document formats, safe against entity tricks and bounded in time and memory.

Entities are never substituted, DTDs never loaded and the network never used (no XXE, no billion
laughs); `huge_tree` stays off so libxml2 keeps its depth and text-node limits.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree

from missend.message.readers.budget import Budget, Unreadable


def iterparse(source: Any, tags: tuple[str, ...], budget: Budget) -> Iterator[Any]:
    """'end' events for `tags` (`{*}name` matches any namespace); the caller releases elements."""
    events = etree.iterparse(
        source,
        events=("end",),
        tag=tags,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        for _event, element in events:
            budget.check_time()
            yield element
    except etree.XMLSyntaxError as exc:
        raise Unreadable(f"holds damaged XML ({str(exc)[:100]})") from exc


def release(element: Any) -> None:
    """Free a processed element and the finished siblings before it, keeping memory flat."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def own_text(element: Any) -> str:
    """Text directly inside a text element; unexpanded entity references are skipped, not named."""
    return (element.text or "") + "".join(child.tail or "" for child in element)
