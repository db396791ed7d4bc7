"""`caredesk triage --input posts.jsonl --output triaged.jsonl`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from caredesk.cli import app
from caredesk.triage import Triager


def _run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


def test_batch_writes_every_field_in_input_order_and_names_bad_lines(
    tmp_path: Path, triager: Triager
) -> None:
    src = tmp_path / "posts.jsonl"
    out = tmp_path / "triaged.jsonl"
    src.write_bytes(
        b'{"id": 1, "text": "my order never arrived", "author": {"followers": 120000}}\n'
        b"this is not json\n"
        b"\n"
        b'{"id": "b", "text": "mera order abhi tak nahi aaya"}\n'
        b'{"id": 3}\n'
        b'{"id": 4, "text": "bad bytes \xff here"}\n'
    )
    code, stdout, stderr = _run(["triage", "--input", str(src), "--output", str(out)])
    assert code == 0
    assert "line 2: not valid JSON" in stderr
    assert "line 5: missing 'text'" in stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert (summary["triaged"], summary["errors"], summary["blank_lines"]) == (3, 2, 1)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["line"] for r in rows] == [1, 2, 4, 5, 6]
    first = rows[0]
    for field in ("id", "language", "sentiment", "sentiment_score", "kind", "intent",
                  "needs_reply", "priority", "reasons"):  # fmt: skip
        assert field in first
    assert first["id"] == 1
    assert any("followers" in why for why in first["reasons"])
    assert rows[1] == {"id": None, "line": 2, "error": rows[1]["error"]}
    assert rows[2]["language"] == "hi"
    assert rows[3]["id"] == 3 and "error" in rows[3]


def test_batch_handles_many_lines(tmp_path: Path, triager: Triager) -> None:
    src = tmp_path / "posts.jsonl"
    out = tmp_path / "triaged.jsonl"
    lines = [json.dumps({"id": i, "text": f"order {i} is late again"}) for i in range(3000)]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, stdout, _ = _run(["triage", "-i", str(src), "-o", str(out), "--no-progress"])
    assert code == 0
    assert json.loads(stdout.strip().splitlines()[-1])["triaged"] == 3000
    assert sum(1 for _ in out.open(encoding="utf-8")) == 3000


def test_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    code, _, stderr = _run(
        ["triage", "--input", str(tmp_path / "nope.jsonl"), "--output", str(tmp_path / "o")]
    )
    assert code == 2
    assert "input file not found" in stderr


def test_no_arguments_asks_for_input_and_output() -> None:
    code, _, stderr = _run(["triage"])
    assert code == 2
    assert "--input" in stderr
