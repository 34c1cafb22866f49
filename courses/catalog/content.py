"""Lesson and course text: Markdown rendered, then sanitized; video links embedded only from
allowed hosts."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qs, urlsplit

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"}}


def render_markdown(text: str | None) -> Markup:
    """Markdown to HTML that is safe to show: raw HTML is not rendered, and what the renderer
    produces is sanitized again (only a small set of tags, http(s)/mailto links). The result depends on
    the text alone, so the most recent texts' HTML is kept (a published course's description, its
    lessons: read far more often than they change; an edit is a new text, a new entry)."""
    return _rendered(text or "")


@lru_cache(maxsize=256)  # bounded: a worker's memory does not grow with the texts it has shown
def _rendered(text: str) -> Markup:
    html = _markdown.render(text)
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")
    return Markup(clean)  # noqa: S704 - sanitized by nh3 just above


def video_embed_url(url: str | None, allowed_hosts: list[str]) -> str | None:
    """The URL to put in an <iframe> when ``url`` is a video page of an allowed host, else None."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if host in ("www.bilibili.com", "bilibili.com") and "player.bilibili.com" in allowed_hosts:
        bvid = next((piece for piece in parts.path.split("/") if piece.startswith("BV")), None)
        return f"https://player.bilibili.com/player.html?bvid={bvid}&autoplay=0" if bvid else None
    if host in ("www.youtube.com", "youtube.com", "youtu.be") and "www.youtube-nocookie.com" in allowed_hosts:
        video = parts.path.lstrip("/") if host == "youtu.be" else next(iter(parse_qs(parts.query).get("v", [])), None)
        return f"https://www.youtube-nocookie.com/embed/{video}" if video and video.isascii() else None
    if host in allowed_hosts:
        return url
    return None
