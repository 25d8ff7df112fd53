"""The dashboard in a real headless Chromium, on real API data, behind the local API Gateway.

Data goes in through the pipeline's write path (registry, engine, metrics store) on a moto table;
the page is served by the API handler through `displaysense_local.api_gateway`, which enforces the
stack's API key rule, so the page has to ask for the key and send it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
from displaysense.adapters.metrics_store import MetricsStore
from displaysense.adapters.upload_presigner import S3Presigner
from displaysense.api.service import ApiService
from displaysense.domain.metrics import merge_all
from displaysense.handlers.api import create_app
from displaysense_local.api_gateway import start_api_gateway

from tests.integration.api.conftest import NOW, TABLE_NAME
from tests.integration.api.seeding import BUCKET, LOCAL_MODE_MISSING, Seeder, create_table
from tests.support.tables import TableAdapters

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

CHROMIUM = "/usr/bin/chromium"
KEY = "e2e-dashboard-key"
REJECTION = "The file name 'window.avi' ends in '.avi': use .mp4 or .mov."
# What ingest says of an upload whose recording time it cannot read; it is listed at its upload
# time, days after the store's latest footage, where the chart's week does not reach.
UNKNOWN_TIME = "the recording time is unknown: name the file after the UTC start of the recording"
REFUSED_400 = (
    "console error: Failed to load resource: the server responded with a status of 400 (Bad Request)"
)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def _browser_or_skip() -> Any:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return pytest.importorskip("playwright.sync_api")


@pytest.fixture
def site(aws: None) -> Iterator[dict[str, Any]]:
    table = create_table(TABLE_NAME)
    import boto3

    s3 = boto3.client("s3")
    registry, store = TableAdapters(table), MetricsStore(table)
    seeder = Seeder(registry, store)
    videos = {
        # The week before the one the dashboard opens on: the KPIs' previous period.
        "c0": seeder.analysed("store-1", "cam-1", "2026-11-17T10:00:00Z", seed=10),
        "c1a": seeder.analysed("store-1", "cam-1", "2026-11-24T09:00:00Z", seed=11),
        "c1b": seeder.analysed("store-1", "cam-1", "2026-11-25T15:00:00Z", seed=12),
        "c2": seeder.analysed("store-1", "cam-2", "2026-11-25T10:00:00Z", seed=13, per_minute=12.0),
        # Faces without age, gender or accessories, as local mode's stand-in sees them.
        "s2": seeder.analysed("store-2", "door", "2026-11-20T12:00:00Z", seed=14, without=LOCAL_MODE_MISSING),
        "rej": seeder.rejected("store-1", "cam-2", "2026-11-26T07:00:00Z", REJECTION),
        "late": seeder.rejected("store-1", "cam-1", "2026-11-29T20:00:00Z", UNKNOWN_TIME, time_known=False),
    }
    service = ApiService(
        videos=registry.videos,
        listing=registry.listing,
        cameras=registry.cameras,
        buckets=store,
        presigner=S3Presigner(s3, BUCKET),
        max_video_bytes=10 * 1024**3,
        upload_url_ttl_s=600,
        clock=lambda: NOW,
    )
    app = create_app(lambda: service)
    with start_api_gateway(app.resolve, api_keys=[KEY]) as gateway:
        yield {"url": gateway.url, "videos": videos}


def test_dashboard_on_real_api_data(site: dict[str, Any]) -> None:
    sync_api = _browser_or_skip()
    videos = site["videos"]
    problems: list[str] = []
    metrics_answers: list[dict[str, Any]] = []
    profile = tempfile.mkdtemp(prefix="ds-chromium-")
    try:
        with sync_api.sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=ARGS, timezone_id="Europe/Berlin"
            )
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.on(
                "console",
                lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

            def on_response(response: Any) -> None:
                if "/metrics?" in response.url and response.status == 200:
                    metrics_answers.append(json.loads(response.text()))

            page.on("response", on_response)

            # The key is asked for once, and the page stays behind the dialog until it is given.
            page.goto(site["url"])
            page.wait_for_selector("[data-testid=key-dialog][open]")
            assert page.get_attribute("body", "data-key-prompts") == "1"
            page.fill("[data-testid=key]", KEY)
            page.click("[data-testid=key-submit]")
            page.wait_for_selector("body[data-state=ready]")
            assert page.evaluate("sessionStorage.getItem('displaysense.apiKey')") == KEY

            # Store 1, all cameras, the week up to its latest footage (26 Nov, Berlin time).
            assert page.input_value("[data-testid=store]") == "store-1"
            assert page.input_value("[data-testid=from]") == "2026-11-20"
            assert page.input_value("[data-testid=to]") == "2026-11-26"
            store_total = merge_all(v.summary for k, v in videos.items() if k in ("c1a", "c1b", "c2"))
            doc = metrics_answers[-1]
            assert doc["tz"] == "Europe/Berlin" and doc["granularity"] == "hour"
            assert doc["totals"]["foot_traffic"] == store_total.foot_traffic > 0
            assert kpi(page, "foot_traffic") == f"{store_total.foot_traffic:,}"
            assert kpi(page, "impressions") == f"{store_total.impressions:,}"
            # Change against the previous week, which holds the video c0.
            before = doc["previous"]["totals"]
            assert before["foot_traffic"] == videos["c0"].summary.foot_traffic > 0
            for name in ("foot_traffic", "impressions"):
                assert change_text(page, name) == relative_change(doc["totals"][name], before[name])
            # The charts draw the API's series and breakdowns.
            assert chart_data(page, "chart-traffic", 0) == [b["foot_traffic"] for b in doc["series"]]
            assert chart_data(page, "chart-traffic", 1) == [b["impressions"] for b in doc["series"]]
            assert chart_data(page, "chart-occupancy", 0) == [b["occupancy_mean"] for b in doc["series"]]
            assert chart_data(page, "chart-occupancy", 1) == [b["occupancy_peak"] for b in doc["series"]]
            assert max(chart_data(page, "chart-occupancy", 1)) == store_total.occupancy_peak > 0
            assert sum(chart_data(page, "chart-gender", 0)) == store_total.faces
            assert chart_data(page, "chart-age", 0) == list(store_total.age.values())
            assert chart_data(page, "chart-mood", 0) == list(store_total.mood.values())
            assert sum(store_total.mood.values()) > 0
            assert canvas_painted(page, "chart-traffic") and canvas_painted(page, "chart-occupancy")
            # The rejected upload of the week is listed with its reason.
            row = page.locator("tr[data-testid=video-row][data-status=REJECTED]")
            assert row.count() == 1 and REJECTION in row.inner_text()
            assert page.locator("tr[data-testid=video-row][data-status=SUCCEEDED]").count() == 3
            # The upload of unknown time is after the week shown, yet listed as needing attention.
            assert (
                page.locator(f"tr[data-testid=video-row][data-video-id='{videos['late'].video_id}']").count()
                == 0
            )
            attention = page.locator("tr[data-testid=attention-row]")
            assert attention.evaluate_all("rows => rows.map(r => r.dataset.videoId)") == [
                videos["late"].video_id,
                videos["rej"].video_id,
            ]
            assert UNKNOWN_TIME in attention.first.inner_text()

            # A time zone the API does not know is its error, not a silent UTC.
            page.fill("[data-testid=tz]", "Mars/Olympus")
            page.dispatch_event("[data-testid=tz]", "change")
            page.wait_for_selector("body[data-state=error]")
            assert page.inner_text("[data-testid=status]").startswith("tz: unknown time zone 'Mars/Olympus'")
            # The browser logs the refused request itself; that one is expected.
            assert problems == [REFUSED_400]
            problems.clear()
            change(
                page,
                lambda: (
                    page.fill("[data-testid=tz]", "Europe/Berlin")
                    or page.dispatch_event("[data-testid=tz]", "change")
                ),
            )
            assert metrics_answers[-1]["tz"] == "Europe/Berlin"

            # Camera filter: only cam-2.
            change(page, lambda: page.select_option("[data-testid=camera]", "cam-2"))
            assert kpi(page, "foot_traffic") == f"{videos['c2'].summary.foot_traffic:,}"
            assert metrics_answers[-1]["camera"] == "cam-2"
            assert page.locator("tr[data-testid=video-row][data-status=SUCCEEDED]").count() == 1

            # Date filter: one day without footage, then the day of cam-1's first video.
            change(page, lambda: page.select_option("[data-testid=camera]", ""))
            change(
                page,
                lambda: (
                    page.fill("[data-testid=from]", "2026-11-24")
                    or page.dispatch_event("[data-testid=from]", "change")
                ),
            )
            change(
                page,
                lambda: (
                    page.fill("[data-testid=to]", "2026-11-24")
                    or page.dispatch_event("[data-testid=to]", "change")
                ),
            )
            assert metrics_answers[-1]["granularity"] == "15m"
            assert kpi(page, "foot_traffic") == f"{videos['c1a'].summary.foot_traffic:,}"

            # Store filter: its cameras replace the others and its own week is shown.
            change(page, lambda: page.select_option("[data-testid=store]", "store-2"))
            cameras = page.eval_on_selector_all("[data-testid=camera] option", "os => os.map(o => o.value)")
            assert cameras == ["", "door"]
            assert kpi(page, "foot_traffic") == f"{videos['s2'].summary.foot_traffic:,}"
            # Its faces carried no age or gender: the API sends null, the page says "not available".
            store_2 = metrics_answers[-1]
            assert store_2["totals"]["faces"] > 0 and store_2["totals"]["age"] is None
            assert store_2["totals"]["gender"] is None and store_2["totals"]["mood"] is not None
            for attribute, shown in (("gender", False), ("age", False), ("mood", True)):
                figure = page.locator(f"figure[data-attribute={attribute}]")
                assert figure.get_attribute("data-available") == str(shown).lower()
                assert figure.locator(".na").is_visible() is not shown
            assert page.is_visible("figure[data-attribute=age] >> text=Not available in local mode")

            # A/B view of two displays.
            change(page, lambda: page.select_option("[data-testid=store]", "store-1"))
            page.select_option("[data-testid=ab-a]", "store-1/cam-1")
            page.select_option("[data-testid=ab-b]", "store-1/cam-2")
            page.click("[data-testid=ab-run]")
            page.wait_for_selector("[data-testid=ab-result][data-state=ready]")
            assert "P(B better than A)" in page.inner_text("[data-testid=ab-result]")

            # The key is kept for the session: a reload asks for nothing.
            page.reload()
            page.wait_for_selector("body[data-state=ready]")
            assert page.get_attribute("body", "data-key-prompts") is None
            assert not page.is_visible("[data-testid=key-dialog]")

            # Readable on a phone: nothing wider than the screen.
            page.set_viewport_size({"width": 390, "height": 844})
            page.wait_for_timeout(200)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert problems == []


def kpi(page: Any, name: str) -> str:
    return str(page.inner_text(f".kpi[data-kpi={name}] .value"))


def change_text(page: Any, name: str) -> str:
    return str(page.inner_text(f".kpi[data-kpi={name}] .change"))


def relative_change(now: float, before: float) -> str:
    change = (now - before) / before * 100
    return f"{'+' if change >= 0 else '−'}{abs(change):.1f} % vs previous period"


def chart_data(page: Any, canvas: str, dataset: int) -> list[Any]:
    return list(
        page.evaluate(f"Chart.getChart(document.getElementById('{canvas}')).data.datasets[{dataset}].data")
    )


def canvas_painted(page: Any, canvas: str) -> bool:
    # Some pixel is not blank: the chart was drawn, not only configured.
    return bool(
        page.evaluate(
            f"""(() => {{
                const c = document.getElementById('{canvas}');
                const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
                return false;
            }})()"""
        )
    )


def change(page: Any, action: Any) -> None:
    """Apply a filter and wait until the page has rendered the answer to it.

    Polled from Python: Playwright's wait_for_function evaluates a string in the page, which the
    dashboard's Content-Security-Policy (no eval) refuses, as it should.
    """
    before = int(page.get_attribute("body", "data-renders") or 0)
    action()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        renders = int(page.get_attribute("body", "data-renders") or 0)
        if renders > before and page.get_attribute("body", "data-state") == "ready":
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"the page did not render again: {page.inner_text('[data-testid=status]')!r}")


def _serve(registry: TableAdapters, store: MetricsStore, **options: Any) -> Any:
    import boto3

    service = ApiService(
        videos=registry.videos,
        listing=registry.listing,
        cameras=registry.cameras,
        buckets=store,
        presigner=S3Presigner(boto3.client("s3"), BUCKET),
        max_video_bytes=10 * 1024**3,
        upload_url_ttl_s=600,
        clock=lambda: NOW,
    )
    return start_api_gateway(create_app(lambda: service, **options).resolve, api_keys=[KEY])


@pytest.fixture
def busy_site(aws: None) -> Iterator[str]:
    """Store-1 with more videos per camera than one page of the list (50): 60 on cam-1, 55 on cam-2."""
    table = create_table(TABLE_NAME)
    registry, store = TableAdapters(table), MetricsStore(table)
    seeder = Seeder(registry, store)
    for camera, count in (("cam-1", 60), ("cam-2", 55)):
        for n in range(count):
            seeder.rejected("store-1", camera, f"2026-11-2{n % 7}T{n // 7:02d}:00:00Z", REJECTION)
    with _serve(registry, store) as gateway:
        yield gateway.url


class Browser:
    """One headless Chromium page, its console errors collected."""

    def __init__(self, playwright: Any, profile: str) -> None:
        self.context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=ARGS, timezone_id="Europe/Berlin"
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.problems: list[str] = []
        self.page.on(
            "console",
            lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))

    def open_with_key(self, url: str) -> Any:
        self.page.goto(url)
        self.page.wait_for_selector("[data-testid=key-dialog][open]")
        self.page.fill("[data-testid=key]", KEY)
        self.page.click("[data-testid=key-submit]")
        return self.page


def _run_in_browser(test: Any) -> None:
    sync_api = _browser_or_skip()
    profile = tempfile.mkdtemp(prefix="ds-chromium-")
    try:
        with sync_api.sync_playwright() as playwright:
            browser = Browser(playwright, profile)
            try:
                test(browser)
            finally:
                browser.context.close()
            assert browser.problems == []
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def test_the_video_list_ignores_answers_to_filters_no_longer_chosen(busy_site: str) -> None:
    def scenario(browser: Browser) -> None:
        page = browser.open_with_key(busy_site)
        page.wait_for_selector("body[data-state=ready]")
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url) if "/videos?" in r.url else None)
        held: list[Any] = []

        def hold(route: Any) -> None:  # answered later, by continue_()
            held.append(route)

        def until_held() -> None:
            deadline = time.monotonic() + 20
            while not held and time.monotonic() < deadline:
                page.wait_for_timeout(20)
            assert held, "the request was not made"

        # 1. cam-1's metrics arrive after cam-2 was chosen and shown: they change nothing, and
        #    the next page of the list is still cam-2's.
        page.route(lambda url: "/metrics?" in url and "camera=cam-1" in url, hold)
        page.select_option("[data-testid=camera]", "cam-1")
        until_held()
        change(page, lambda: page.select_option("[data-testid=camera]", "cam-2"))
        assert rows(page) == {"cam-2": 50}
        with page.expect_response(lambda r: "camera=cam-1" in r.url):
            held.pop().continue_()
        page.unroute_all()
        page.wait_for_timeout(300)
        assert not [u for u in requests if "camera=cam-1" in u]  # no list of cam-1 was even asked for
        with page.expect_response(lambda r: "cursor=" in r.url) as more:
            page.click("[data-testid=more-videos]")
        assert "camera=cam-2" in more.value.url
        page.wait_for_timeout(200)
        assert rows(page) == {"cam-2": 55}

        # 2. A next page that arrives after the filters changed is not appended to the new list.
        change(page, lambda: page.select_option("[data-testid=camera]", ""))
        mixed = rows(page)
        assert set(mixed) == {"cam-1", "cam-2"} and sum(mixed.values()) == 50
        page.route(lambda url: "cursor=" in url, hold)
        page.click("[data-testid=more-videos]")
        until_held()
        change(page, lambda: page.select_option("[data-testid=camera]", "cam-1"))
        assert rows(page) == {"cam-1": 50}
        with page.expect_response(lambda r: "cursor=" in r.url):
            held.pop().continue_()
        page.unroute_all()
        page.wait_for_timeout(300)
        assert rows(page) == {"cam-1": 50}

    _run_in_browser(scenario)


def rows(page: Any) -> dict[str, int]:
    cameras = page.eval_on_selector_all(
        "tr[data-testid=video-row]", "rows => rows.map(r => r.dataset.camera)"
    )
    return {camera: cameras.count(camera) for camera in sorted(set(cameras))}


@pytest.fixture
def iam_site(site: dict[str, Any]) -> Iterator[str]:
    """The same table served as a stack deployed with api_auth=IAM serves it."""
    import boto3

    table = boto3.resource("dynamodb").Table(TABLE_NAME)
    with _serve(TableAdapters(table), MetricsStore(table), api_auth="IAM") as gateway:
        yield gateway.url


def test_with_iam_the_dashboard_says_it_needs_api_key_mode_instead_of_asking_for_a_key(
    iam_site: str, site: dict[str, Any]
) -> None:
    def scenario(browser: Browser) -> None:
        page = browser.page
        # The stack told the page (DS_API_AUTH=IAM): no key is asked for.
        page.goto(iam_site)
        page.wait_for_selector("body[data-state=error]")
        assert page.get_attribute("body", "data-auth") == "IAM"
        assert page.get_attribute("body", "data-key-prompts") is None
        assert "api_auth=API_KEY" in page.inner_text("[data-testid=status]")
        # A page that was not told finds out from IAM's refusal, asks for a key once and stops.
        page.route(
            lambda url: "/stores" in url,
            lambda route: route.fulfill(
                status=403, content_type="application/json", body='{"message":"Missing Authentication Token"}'
            ),
        )
        browser.open_with_key(site["url"])
        page.wait_for_selector("body[data-state=error]")
        assert page.get_attribute("body", "data-key-prompts") == "1"
        assert not page.is_visible("[data-testid=key-dialog]")
        assert "api_auth=IAM" in page.inner_text("[data-testid=status]")
        # The refused request is logged by the browser itself.
        assert browser.problems == [
            "console error: Failed to load resource: the server responded with a status of 403 (Forbidden)"
        ]
        browser.problems.clear()

    _run_in_browser(scenario)
