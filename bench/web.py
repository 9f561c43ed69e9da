"""The web app's budgets (issue 19), in Debian's Chromium against a real server with the
benchmark's seeded organisation: the first page's JavaScript (gzipped), navigation to the
feed's first posts painted (median of 20 loads, signed in), and a message typed in one
browser until it is painted in the other (median of 20).

`make bench` runs it on 2 workers; `make bench-web` alone on the load test's organisation.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import re
import shutil
import statistics
import sys
import time
from typing import Any

from playwright.async_api import Page, async_playwright

from bench.seed import LOAD, PASSWORD, Seeded, seed
from bench.stack import Stack
from staffroom.webapp.routes import DIST
from tests.support.serve import ServeProcess
from tests.support.servers import free_port
from tests.web.journeys import sign_in

LOADS = 20
MESSAGES = 20
BUDGETS = {"first_page_js_gzip_kb": 200.0, "feed_painted_ms": 800.0, "message_painted_ms": 150.0}


def first_page_js_kb() -> float:
    """The gzipped size of the scripts the entry page loads (entry and its preloads):
    chunks loaded later (the admin console) are not counted."""
    index = (DIST / "index.html").read_text()
    scripts = re.findall(r'(?:src|href)="/(assets/[^"]+\.js)"', index)
    return sum(len(gzip.compress((DIST / s).read_bytes(), 9)) for s in scripts) / 1024


async def feed_painted_ms(page: Page) -> list[float]:
    """Navigation start until the first post is on screen, signed in (the session resumes
    from the refresh cookie, as a returning employee's does)."""
    times = []
    for _ in range(LOADS):
        await page.goto("/feed", wait_until="commit")
        await page.locator("article.post").first.wait_for(timeout=30_000)
        times.append(await page.evaluate("performance.now()"))
    return times


async def message_painted_ms(sender: Page, reader: Page, conversation: str) -> list[float]:
    """Enter pressed in one browser until the message is painted in the other."""
    for page in (sender, reader):
        await page.goto(f"/chat/{conversation}")
        await page.get_by_role("textbox", name="Write a message").wait_for()
        await page.get_by_role("status").filter(has_text="Live").wait_for()
    await reader.evaluate(
        """() => { window.__seen = {};
        new MutationObserver(() => {
          for (const el of document.querySelectorAll('.message .body')) {
            const t = el.textContent; if (!(t in window.__seen)) window.__seen[t] = Date.now();
          }
        }).observe(document.body, {subtree: true, childList: true, characterData: true}); }"""
    )
    box = sender.get_by_role("textbox", name="Write a message")
    times = []
    for n in range(MESSAGES):
        text = f"bench message {n} {time.time_ns()}"
        await box.fill(text)
        sent = await sender.evaluate("Date.now()")
        await box.press("Enter")
        # Functions, not expressions: the page's CSP forbids eval.
        await reader.wait_for_function("t => window.__seen[t] !== undefined", arg=text)
        times.append(await reader.evaluate("t => window.__seen[t]", text) - sent)
        await asyncio.sleep(0.2)
    return times


async def measure(base: str, seeded: Seeded) -> dict[str, Any]:
    """The three budgets against a running server."""
    by_id = {uid: email for uid, email, _ in seeded.users}
    conversation, people = next((c, p) for c, p in seeded.conversations.items() if len(p) >= 2)
    chromium = shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("chromium is not installed (make system-deps installs it)")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        pages = []
        for uid in people[:2]:
            context = await browser.new_context(base_url=base)
            page = await context.new_page()
            await sign_in(page, "bench", by_id[uid], PASSWORD)  # as the journeys do
            await page.locator("article.post").first.wait_for(timeout=30_000)
            pages.append(page)
        feed = await feed_painted_ms(pages[0])
        messages = await message_painted_ms(pages[0], pages[1], str(conversation))
        await browser.close()
    out: dict[str, Any] = {
        "first_page_js_gzip_kb": first_page_js_kb(),
        "feed_painted_ms": statistics.median(feed),
        "feed_painted_p90_ms": statistics.quantiles(feed, n=10)[-1],
        "message_painted_ms": statistics.median(messages),
        "message_painted_p90_ms": statistics.quantiles(messages, n=10)[-1],
    }
    out["met"] = {k: out[k] <= limit for k, limit in BUDGETS.items()}
    return out


def start_server(stack: Stack, env: dict[str, str], workers: int = 2) -> ServeProcess:
    """`staffroom serve` whose public URL is its own address (the cookie's origin check)."""
    port = free_port()
    public = {"STAFFROOM_PUBLIC_URL": f"http://127.0.0.1:{port}", "STAFFROOM_SCHEDULER": "true"}
    return ServeProcess.start(workers=workers, port=port, env={**stack.env, **env, **public})


def markdown(result: dict[str, Any]) -> str:
    """The budgets as a table."""
    rows = [
        ("first page's JavaScript, gzipped", f"{result['first_page_js_gzip_kb']:.0f} KB", "200 KB"),
        (
            f"navigation to the feed's first posts painted (median of {LOADS})",
            f"{result['feed_painted_ms']:.0f} ms (p90 {result['feed_painted_p90_ms']:.0f})",
            "800 ms",
        ),
        (
            f"a message typed in one browser painted in the other (median of {MESSAGES})",
            f"{result['message_painted_ms']:.0f} ms (p90 {result['message_painted_p90_ms']:.0f})",
            "150 ms",
        ),
    ]
    met = list(result["met"].values())
    lines = [
        f"| {a} | {b} | {c} | {'met' if ok else '**missed**'} |"
        for (a, b, c), ok in zip(rows, met, strict=True)
    ]
    return "| budget | measured | target | |\n|---|---:|---:|---|\n" + "\n".join(lines)


def main() -> int:
    from bench.report import save
    from bench.run import BENCH_ENV, console  # the benchmark's settings, one place

    argparse.ArgumentParser(description=__doc__).parse_args()
    with console.status("starting PostgreSQL, Redis, SMTP, moto…"):
        stack = Stack.start()
    try:
        with console.status("seeding the organisation…"):
            seeded = asyncio.run(seed(LOAD, report=console.log))
        server = start_server(stack, BENCH_ENV)
        try:
            console.log("web app budgets (2 workers)")
            result = asyncio.run(measure(server.base, seeded))
        finally:
            server.stop()
    finally:
        stack.stop()
    md = (
        "# Web app budgets\n\nThe load test's organisation "
        f"({LOAD.users:,} people, {LOAD.posts:,} posts), 2 workers, Chromium on loopback.\n\n"
        + markdown(result)
        + "\n"
    )
    save("web", md, result)
    return 0 if all(result["met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
