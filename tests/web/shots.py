"""Screenshots of a page at a desktop's and a phone's width, and the check that
nothing makes the page itself scroll sideways (a wide table scrolls inside its box)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["SHOTS", "overflowing", "shots"]

#: Where screenshots are also kept for people to look at (KVORUM_TEST_SHOTS), if set.
SHOTS = Path(os.environ["KVORUM_TEST_SHOTS"]) if os.environ.get("KVORUM_TEST_SHOTS") else None

# The outermost elements reaching past the viewport's right edge, where the page (not a
# scrolling box) would have to scroll to show them.
_OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    // A box's own width, or its content's where a long word spills out of it.
    const own = ["auto", "scroll", "hidden"].includes(getComputedStyle(el).overflowX);
    const reach = own ? box.right : Math.max(box.right, box.left + el.scrollWidth);
    if (reach <= width + 0.5) continue;
    let inside = false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (["auto", "scroll", "hidden"].includes(style.overflowX)) { inside = true; break; }
    }
    if (!inside) found.push(el);
  }
  const name = (el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : "");
  const right = (el) => Math.round(el.getBoundingClientRect().left + el.scrollWidth);
  const text = (el) => (el.textContent || "").trim().slice(0, 60);
  // The innermost: what spills, not every box around it.
  let innermost = found.filter((el) => !found.some((o) => o !== el && el.contains(o)));
  if (!innermost.length) {
    // Nothing in the flow: name what reaches furthest anyway (a positioned element).
    innermost = [...document.body.querySelectorAll("*")]
      .filter((el) => ["absolute", "fixed"].includes(getComputedStyle(el).position))
      .filter((el) => el.getBoundingClientRect().right > width + 0.5)
      .sort((a, b) => b.getBoundingClientRect().right - a.getBoundingClientRect().right);
  }
  return innermost.slice(0, 5).map((el) => `${name(el)} (${right(el)}px): ${text(el)}`);
}"""


async def overflowing(page: Any) -> list[str]:
    """What makes the page wider than its viewport (empty when nothing does)."""
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow <= 0:
        return []
    return list(await page.evaluate(_OVERFLOWING)) or [f"{overflow}px, by no single element"]


async def shots(page: Any, tmp_path: Path, name: str) -> None:
    """The page at a desktop's and a phone's width, saved; nothing may overflow."""
    for width in (1280, 360):
        await page.set_viewport_size({"width": width, "height": 900})
        wide = await overflowing(page)
        assert not wide, f"{name} overflows at {width}px: {wide}"
        for directory in filter(None, (tmp_path, SHOTS)):
            directory.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(directory / f"{name}-{width}.png"), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 900})
