"""Recording what was learned, one fact at a time, through the CLI (`lessons cause` & co.)."""

from __future__ import annotations

import json

from .conftest import EXAMPLES

ONE = EXAMPLES / "2023-05-22-payments-db-disk-full.md"
FAILURE = "2023-05-22-payments-db-disk-full"


def test_a_team_works_a_failure_through_from_the_cli(lessons) -> None:
    assert lessons("ingest", str(ONE)).exit_code == 0
    steps = [
        ("cause", FAILURE, "Log rotation disabled", "--role", "contributing"),
        ("cause", FAILURE, "Backup job wrote to the data volume"),
        (
            "experiment",
            FAILURE,
            "Backups filled the volume",
            "--outcome",
            "refuted",
            "--tested",
            "Backup job wrote to the data volume",
            "--finding",
            "backups go to object storage",
        ),
        (
            "cause",
            FAILURE,
            "Backup job wrote to the data volume",
            "--status",
            "rejected",
            "--evidence",
            "backups go to object storage",
        ),
        ("lesson", FAILURE, "Disk growth needs a forecast", "--adopted-as", "Disk forecast alert"),
        (
            "practice",
            FAILURE,
            "Disk forecast alert",
            "--adopted-at",
            "2023-06-01",
            "--addresses",
            "Log rotation disabled",
        ),
        (
            "action",
            FAILURE,
            "Alert when disk is full in 7 days",
            "--owner",
            "ana",
            "--due",
            "2023-06-15",
            "--implements",
            "Disk forecast alert",
        ),
    ]
    for step in steps:
        result = lessons(*step)
        assert result.exit_code == 0, (step, result.output)
    recorded = json.loads(
        lessons("recognize", "--json", "--record", "payments-db ran out of disk again").stdout
    )["recorded"]["failure"]["id"]
    assert lessons("recurrence", recorded, "--of", FAILURE).exit_code == 0

    explained = json.loads(lessons("explain", FAILURE, "--format", "json").stdout)
    causes = {c["name"]: c for c in explained["causes"]}
    assert causes["Log rotation disabled"]["role"] == "contributing"
    assert causes["Log rotation disabled"]["status"] == "proposed"
    backup = causes["Backup job wrote to the data volume"]
    assert (backup["status"], backup["evidence"]) == ("rejected", "backups go to object storage")
    assert [t["outcome"] for t in backup["tested_by"]] == ["refuted"]
    (forecast,) = causes["Log rotation disabled"]["addressed_by"]
    assert (forecast["name"], forecast["adopted_at"]) == ("Disk forecast alert", "2023-06-01")
    assert forecast["actions"] == ["Alert when disk is full in 7 days"]
    assert recorded in explained["recurred_as"]


def test_recording_on_an_unknown_failure_says_so(lessons) -> None:
    result = lessons("cause", "no-such-failure", "Anything")
    assert result.exit_code == 1 and "no-such-failure" in result.stderr
    assert lessons("experiment", "x", "h", "--outcome", "maybe").exit_code == 2


def test_an_action_is_closed_from_the_cli(lessons) -> None:
    assert lessons("ingest", str(ONE)).exit_code == 0
    added = lessons("action", FAILURE, "Alert when disk is full in 7 days", "--owner", "ana")
    action_id = added.stdout.split(":")[0]
    assert added.stdout == f"{action_id}: open.\n"
    assert lessons("close", action_id).stdout == f"{action_id}: done.\n"
    shown = json.loads(lessons("show", "--json", FAILURE).stdout)
    closed = [a for a in shown["actions"] if a["id"] == action_id]
    assert [(a["status"], a["owner"]) for a in closed] == [("done", "ana")]
    unknown = lessons("close", f"{FAILURE}/action-999")
    assert unknown.exit_code == 1 and "no node with id" in unknown.output
