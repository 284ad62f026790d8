"""The web page in a real browser: headless Debian Chromium through Playwright (never a downloaded browser; if
chromium is missing the test fails — install.sh installs it). The page loads offline (no request leaves the
server), filters the video list, streams the agents' steps live, shows the answer with its cited moments as
thumbnails, and a click on one plays the video from inside the cited span; search results play the same way."""

from __future__ import annotations

import pytest
from helpers_serve import CHROMIUM_ARGS, INVOICE, require_chromium, scripted

from vidgraph.serve.app import create_app
from vidgraph.serve.server import ThreadedServer


@pytest.fixture(scope="module")
def server(agents_library):
    app = create_app(agents_library, scripted(delay=0.3), mcp=False)  # a slow model: the steps show up first
    with ThreadedServer(app) as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    page.external, page.errors = [], []
    page.on("request", lambda r: None if r.url.startswith(server.url) or r.url.startswith("data:")
            else page.external.append(r.url))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    ctx.close()


def cited_span(item) -> tuple[float, float]:
    return float(item.get_attribute("data-start")), float(item.get_attribute("data-end"))


def wait_seeked(page) -> float:
    page.wait_for_function("document.querySelector('#player').dataset.seeked === '1'", timeout=20000)
    return page.evaluate("document.querySelector('#player').currentTime")


def test_ask_streams_steps_then_a_cited_moment_plays(page, server, tmp_path):
    page.goto(server.url + "/")
    page.wait_for_selector("#status[data-state=ready]", timeout=15000)
    assert page.locator("#videos li[data-name]").count() == 2
    page.fill("#filter", "oth")
    page.wait_for_function("[...document.querySelectorAll('#videos li[data-name]')].filter(li => li.offsetParent)"
                           ".length === 1")  # shown, not only marked
    page.fill("#filter", "")
    page.click("#videos li[data-name='fixture.mp4']")  # ask about this video only

    page.fill("#question", INVOICE)
    page.click("#ask-btn")
    page.wait_for_selector("#steps li", timeout=15000)
    assert page.locator("#answer").inner_text() == ""  # a step arrived before the answer: live
    page.wait_for_selector("#citations li", timeout=30000)
    assert page.locator("#answer").inner_text() == "4821-B"
    assert page.locator("#steps li").count() >= 3
    page.wait_for_function("[...document.querySelectorAll('#citations img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")

    first = page.locator("#citations li").first
    start, end = cited_span(first)
    first.click()
    t = wait_seeked(page)
    assert start <= t <= end, (start, t, end)
    page.wait_for_timeout(400)  # it plays on, and stops at the end of the span
    t2 = page.evaluate("document.querySelector('#player').currentTime")
    assert start <= t2 <= end + 0.3
    assert page.locator("#export").get_attribute("href").endswith("/export")
    page.screenshot(path=str(tmp_path / "page-answer.png"), full_page=True)
    assert (tmp_path / "page-answer.png").stat().st_size > 10_000
    assert not page.external, f"the page fetched from elsewhere: {page.external}"
    assert not page.errors, page.errors


def test_search_results_play_the_same_way(page, server, tmp_path):
    page.goto(server.url + "/")
    page.wait_for_selector("#status[data-state=ready]", timeout=15000)
    page.fill("#search-q", "north gate closed")
    page.click("#search-btn")
    page.wait_for_selector("#hits li", timeout=15000)
    hit = page.locator("#hits li").first
    assert "other.mp4" in hit.inner_text()
    start, end = cited_span(hit)
    hit.click()
    t = wait_seeked(page)
    assert start <= t <= end
    page.screenshot(path=str(tmp_path / "page-search.png"), full_page=True)
    assert not page.external and not page.errors, (page.external, page.errors)


def test_the_api_docs_render_offline(page, server):
    page.goto(server.url + "/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/ask/stream" in p for p in paths) and not page.external


def test_a_hundred_videos_list_and_filter(browser, tmp_path):
    """A catalog of 100 one-hour videos (their files absent: thumbnails are 404s, the page goes on): all listed,
    filtered as one types, without re-rendering the list."""
    import time

    from vidgraph.eval.bench_serve import synthetic_catalog

    folder = tmp_path / "many"
    synthetic_catalog(folder, 100, 3600.0)
    with ThreadedServer(create_app(folder, scripted(), mcp=False, preload=False)) as s:
        ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        page = ctx.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        began = time.monotonic()
        page.goto(s.url + "/")
        page.wait_for_selector("#status[data-state=ready]", timeout=15000)
        loaded = time.monotonic() - began
        visible = "[...document.querySelectorAll('#videos li[data-name]')].filter(li => li.offsetParent).length"
        assert page.evaluate(visible) == 100 and page.locator("#count").inner_text() == "100 of 100 videos"
        page.evaluate("document.querySelector('#videos li[data-name]').dataset.mark = 'kept'")
        page.fill("#filter", "site-07")
        page.wait_for_function(f"{visible} === 10")
        page.fill("#filter", "camera-042")
        page.wait_for_function(f"{visible} === 1")
        assert page.evaluate("document.querySelector('#videos li[data-name]').dataset.mark") == "kept"  # same nodes
        page.screenshot(path=str(tmp_path / "page-100.png"))
        ctx.close()
    assert loaded < 10 and not errors, (loaded, errors)


def test_indexing_from_the_page_shows_progress_then_the_video(browser, tmp_path):
    from helpers_serve import h264

    from vidgraph.serve.service import Limits

    h264(tmp_path / "videos" / "new.mp4", 4)
    app = create_app(tmp_path / "videos", scripted(), mcp=False, preload=False, limits=Limits(index_stages=("scan",)))
    with ThreadedServer(app) as s:
        ctx = browser.new_context()
        page = ctx.new_page()
        seen: list[str] = []
        page.expose_function("note", lambda text: seen.append(text))
        page.goto(s.url + "/")
        page.wait_for_selector("#status[data-state=ready]", timeout=15000)
        assert page.locator("#videos li[data-name]").count() == 0
        page.evaluate("new MutationObserver(() => window.note(document.querySelector('#index-progress').textContent))"
                      ".observe(document.querySelector('#index-progress'), {childList: true, characterData: true, "
                      "subtree: true})")
        page.click("#index-btn")
        page.wait_for_function("document.querySelector('#index-progress').textContent.startsWith('done')",
                               timeout=60000)
        page.wait_for_selector("#videos li[data-name='new.mp4']", timeout=10000)
        assert any(t.startswith(("indexing", "scan", "memory", "hashing", "1 videos")) for t in seen), seen
        page.click("#videos li[data-name='new.mp4']")
        assert wait_seeked(page) < 1.0  # it plays from the start
        ctx.close()
