"""`lessons ingest` with structured exports: the dry run's readable summary (and that it
creates nothing: no store file, no vector cache), `--dry-run --json`, warnings, `--mapping`."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import REPO

EXPORTS = REPO / "tests" / "data" / "exports"
INCIDENT_IO = EXPORTS / "incident-io.json"
HANDWRITTEN = EXPORTS / "handwritten.yaml"


def nothing_written(tmp_path: Path) -> bool:
    """The `lessons` fixture's store file and cache directory do not exist."""
    return not (tmp_path / "cli.sqlite3").exists() and not (tmp_path / "cache").exists()


def test_dry_run_shows_what_it_understood_and_creates_nothing(lessons, tmp_path: Path) -> None:
    result = lessons("ingest", "--dry-run", str(EXPORTS))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"{INCIDENT_IO}: 1 record\n" in out
    assert "  Checkout API returned 500s after a config push\n" in out
    assert "    id incident-io · 2025-03-04 09:02 UTC · severity Major\n" in out
    assert (
        "    causes 2 · experiments 0 · lessons 0 · practices 0 · actions 2 · components 2"
        " · went well 0\n"
    ) in out
    assert (
        "    causes: Config push removed the provider timeout (root); "
        "No canary stage for config pushes (contributing)\n"
    ) in out
    assert (
        "    actions: Add a canary stage to config pushes (Ben Okafor); "
        "Alert on checkout-api connection pool saturation (Ana Pereira)\n"
    ) in out
    assert "    components: checkout-api; config-service\n" in out
    assert "  warning: Customer region: not a field we know; kept in notes\n" in out
    # The hand-written file: every kind is counted, and the first items of each shown.
    assert (
        "    causes 3 · experiments 2 · lessons 1 · practices 0 · actions 2 · components 2"
        " · went well 1\n"
    ) in out
    assert (
        "    experiments: The storage client gave up after exhausting its retries (refuted);" in out
    )
    assert "    went well: Finance noticed the missing charges within a day\n" in out
    assert f"{EXPORTS / 'rootly-list.json'}: 2 records\n" in out
    assert out.rstrip().endswith("9 checked (0 texts embedded)")
    assert nothing_written(tmp_path)


def test_dry_run_json_stays_the_canonical_records(lessons, tmp_path: Path) -> None:
    result = lessons("ingest", "--dry-run", "--json", str(INCIDENT_IO), str(HANDWRITTEN))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == ["incident-io", "handwritten"]
    assert records[0]["severity"] == "Major" and "Customer region: EU" in records[0]["notes"]
    assert records[1]["causes"][1] == {
        "name": "Storage throttling during the backup window",
        "role": "trigger",
        "status": "accepted",
        "evidence": None,
        "description": None,
        "source": None,
    }
    assert f"warning {HANDWRITTEN}: slack thread: not a field we know; kept in notes" in (
        result.stderr
    )
    assert nothing_written(tmp_path)


def test_dry_run_against_an_existing_store_changes_nothing(lessons, tmp_path: Path) -> None:
    assert lessons("ingest", str(INCIDENT_IO)).exit_code == 0
    before = json.loads(lessons("stats", "--json").stdout)
    store = tmp_path / "cli.sqlite3"
    size, mtime = store.stat().st_size, store.stat().st_mtime_ns
    result = lessons("ingest", "--dry-run", str(INCIDENT_IO), str(HANDWRITTEN))
    assert result.exit_code == 0, result.output
    assert f"{INCIDENT_IO}: unchanged since it was imported\n" in result.stdout
    assert "  Nightly billing export wrote half a file\n" in result.stdout
    assert (store.stat().st_size, store.stat().st_mtime_ns) == (size, mtime)
    assert json.loads(lessons("stats", "--json").stdout) == before


def test_an_import_prints_its_warnings_and_keeps_the_notes(lessons) -> None:
    result = lessons("ingest", str(HANDWRITTEN))
    assert result.exit_code == 0, result.output
    assert f"warning {HANDWRITTEN}: slack thread: not a field we know; kept in notes" in (
        result.stderr
    )
    shown = json.loads(lessons("show", "--json", "handwritten").stdout)
    assert shown["failure"]["notes"] == (
        "slack thread: https://chat.example.com/archives/C0BILLING/p1715480000"
    )
    report = json.loads(lessons("ingest", "--json", str(INCIDENT_IO)).stdout)
    (file,) = report["files"]
    assert file["warnings"] == ["Customer region: not a field we know; kept in notes"]


def test_ingest_with_a_mapping_file(lessons, tmp_path: Path) -> None:
    doc = tmp_path / "retro.yaml"
    doc.write_text(
        "ticket:\n  heading: Cache nodes evicted all keys at once\n  opened: 2025-01-02\n"
        "analysis:\n  made_worse_by: [No jitter on TTLs]\n"
    )
    refused = lessons("ingest", "--dry-run", str(doc))
    assert refused.exit_code == 1
    assert f"{doc}: not understood: nothing here describes a failure" in refused.stdout
    mapping = tmp_path / "fields.yaml"
    mapping.write_text(
        "ticket.heading: title\nticket.opened: occurred_at\n"
        "analysis.made_worse_by: causes.contributing\n"
    )
    result = lessons("ingest", "--dry-run", "--mapping", str(mapping), str(doc))
    assert result.exit_code == 0, result.output
    assert "  Cache nodes evicted all keys at once\n" in result.stdout
    assert "    causes: No jitter on TTLs (contributing)\n" in result.stdout
    mapping.write_text("ticket.heading: headline\n")
    bad = lessons("ingest", "--mapping", str(mapping), str(doc))
    assert bad.exit_code == 1
    assert "'ticket.heading' maps to 'headline', which is not a field we know" in bad.stderr
    assert not (tmp_path / "cli.sqlite3").exists()


def test_a_document_that_describes_no_failure_fails_with_the_reason(
    lessons, tmp_path: Path
) -> None:
    empty = tmp_path / "export.json"
    empty.write_text('{"incident": {"id": "P1", "urgency": "high", "incident_key": "k"}}')
    result = lessons("ingest", str(empty))
    assert result.exit_code == 1
    assert f"{empty}: nothing here describes a failure (read as a PagerDuty export)" in (
        result.stderr
    )
    assert "1 failed" in result.stdout
