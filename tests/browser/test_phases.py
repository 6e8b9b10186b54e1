"""The three phases as a person walks them in the browser: recognize a failure and confirm a
recurrence; make sense of it (a hypothesis, an experiment that refutes it); adopt a practice
and see it on the learning dashboard."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, unquote

from playwright.sync_api import Page, expect

from lessons.graph.inputs import FailureFilter
from lessons.graph.models import CauseStatus, Failure, Label, RelType
from lessons.graph.reads import get_failure, list_failures

from .conftest import Site

SCREENSHOTS = os.environ.get("LESSONS_SCREENSHOTS")  # `make screenshots` sets docs/screenshots


def shot(page: Page, name: str) -> None:
    """Keep a screenshot of the page for the README when asked to."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def test_recognize_then_confirm_a_recurrence(site: Site) -> None:
    page = site.open("/")
    page.get_by_label("What is breaking?").fill(
        "Checkout requests time out: the payments database connection pool is exhausted"
    )
    page.get_by_role("button", name="Recognize").click()
    expect(page.locator(".verdict h2")).to_be_visible()
    first = page.locator(".match").first
    past_title = first.locator("h3 a").inner_text()
    past_id = first.locator("h3 a").get_attribute("href").rsplit("/", 1)[1]  # type: ignore[union-attr]
    expect(first.locator(".why")).to_contain_text("Why:")
    shot(page, "recognize")

    first.get_by_role("button", name="This is a recurrence of").click()
    expect(page.locator(".saved")).to_be_visible()
    expect(page.get_by_text("A recurrence of")).to_be_visible()
    new_id = page.url.split("/failures/", 1)[1].split("?")[0]
    recorded = get_failure(site.store, new_id)
    assert recorded.recurrence_of == [past_id], past_title
    assert not site.outside and not site.errors


def test_a_hypothesis_refuted_by_an_experiment(site: Site) -> None:
    page = site.open("/failures")
    page.locator("table a").first.click()
    failure_id = page.url.split("/failures/", 1)[1]

    page.get_by_text("Add a cause or hypothesis, or judge one").click()
    page.get_by_label("Cause (a new name, or one above)").fill("Stale DNS cache on the resolvers")
    page.get_by_label("Status").first.select_option("proposed")
    page.get_by_role("button", name="Save cause").click()
    row = page.locator("tr", has_text="Stale DNS cache on the resolvers")
    expect(row).to_contain_text("proposed")

    page.get_by_text("Record an experiment").click()
    page.get_by_label("Hypothesis").fill("Flushing the resolver cache restores traffic")
    page.get_by_label("Outcome").select_option("refuted")
    page.get_by_label("Finding").fill("Traffic stayed down after the flush")
    page.get_by_label("Causes it tested (comma-separated)").fill("Stale DNS cache on the resolvers")
    page.get_by_role("button", name="Save experiment").click()
    expect(page.locator("#experiments + ul")).to_contain_text("refuted")

    page.get_by_text("Add a cause or hypothesis, or judge one").click()
    page.get_by_label("Cause (a new name, or one above)").fill("Stale DNS cache on the resolvers")
    page.get_by_label("Status").first.select_option("rejected")
    page.get_by_label("Evidence").fill("The flush changed nothing")
    page.get_by_role("button", name="Save cause").click()
    expect(page.locator("tr", has_text="Stale DNS cache on the resolvers")).to_contain_text(
        "rejected"
    )
    shot(page, "failure")

    context = get_failure(site.store, failure_id)
    cause = next(c for c in context.causes if c.name == "Stale DNS cache on the resolvers")
    assert cause.status is CauseStatus.REJECTED
    experiment = next(e for e in context.experiments if e.hypothesis.startswith("Flushing"))
    assert experiment.tested_cause_ids == [cause.id]
    assert not site.outside and not site.errors


def test_an_adopted_practice_appears_on_the_dashboard(site: Site) -> None:
    page = site.open("/failures")
    page.locator("table a").first.click()
    cause_link = page.locator("#causes ~ table a").first
    cause, cause_id = (
        cause_link.inner_text(),
        unquote(cause_link.get_attribute("href").rsplit("/", 1)[1]),
    )  # type: ignore[union-attr]

    page.get_by_text("Adopt a practice").click()
    page.get_by_label("Practice", exact=True).fill("Canary every zone change on one PoP")
    page.get_by_label("Adopted on").fill("2022-04-01")
    page.get_by_label("Causes it addresses (comma-separated)").fill(cause)
    page.get_by_role("button", name="Save practice").click()
    expect(page.locator("#practices + ul")).to_contain_text("Canary every zone change on one PoP")

    page.get_by_role("link", name="Learning").click()
    row = page.locator("table.effects tr", has_text="Canary every zone change on one PoP")
    expect(row).to_contain_text("2022-04-01")
    expect(row.locator("svg rect")).to_have_count(2)  # before and after
    shot(page, "learning")
    practice = next(
        p for p in site.store.list_nodes(Label.PRACTICE, limit=1000) if p.name.startswith("Canary")
    )
    addressed = site.store.edges([practice.id], [RelType.ADDRESSES])
    assert [e.target for e in addressed] == [cause_id]
    assert not site.outside and not site.errors


def test_clicking_a_node_of_the_graph_opens_its_page(site: Site) -> None:
    page = site.open("/failures")
    page.locator("table a").first.click()
    graph = page.locator("#graph[data-ready]")
    expect(graph).to_be_attached()
    graph.scroll_into_view_if_needed()
    # Cytoscape reads where its container is when the page's scroll event reaches it, a frame
    # later: a click before that lands where the graph was before the scroll.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    # The cause drawn farthest from any other node, so the click cannot land on a neighbour.
    cause_id, x, y = page.evaluate(
        """() => {
            const cy = document.getElementById('graph').graph;
            const at = n => n.renderedPosition();
            const room = n => Math.min(...cy.nodes().not(n).map(
                o => Math.hypot(at(o).x - at(n).x, at(o).y - at(n).y)));
            const best = cy.nodes('[kind = "Cause"]').max(room).ele;
            return [best.id(), at(best).x, at(best).y];
        }"""
    )
    box = graph.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_url(f"**/causes/{quote(cause_id, safe='')}")
    expect(page.locator("h2", has_text="Failures that share it")).to_be_visible()
    assert not site.errors


def test_the_dashboard_narrows_to_a_component_or_a_team(site: Site) -> None:
    page = site.open("/learning")
    everything = page.locator("#clusters ~ ul > li").count()
    page.get_by_label("Component").fill("payments-db")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".meta", has_text="failures of component payments-db")).to_be_visible()
    linked = {a.get_attribute("href") for a in page.locator("main a[href^='/failures/']").all()}
    in_component = {f"/failures/{f.id}" for f in _failures_of(site, component="payments-db")}
    assert linked and linked <= in_component
    assert page.locator("#clusters ~ ul > li").count() <= everything
    page.get_by_label("Component").fill("no-such-component")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_contain_text("no component is named 'no-such-component'")


def _failures_of(site: Site, **where: str) -> list[Failure]:
    return list_failures(site.store, FailureFilter(**where), limit=1000)
