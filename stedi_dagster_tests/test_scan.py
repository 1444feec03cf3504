"""Focused tests of the landing files' byte scan (`stedi_dagster.landing.scan.scan`): its hash,
lines and colons are what `all_lines_accounted`, `no_unknown_fields` and duplicate detection rest
on, whatever the chunks a file is read in."""

import hashlib

import pytest

from stedi_dagster.landing import scan as scanning

CONTENTS = {
    "newline-terminated": b'{"a": 1, "b": "x:y"}\n{"a": 2}\n',
    "last line without newline": b'{"a": 1}\n{"a": 2, "b": 3}',
    "crlf and blank lines": b'{"a": 1}\r\n\r\n{"b": 2}\r\n',
    "empty": b"",
    "only newlines": b"\n\n\n",
    "non-utf8 bytes": b'{"a": "\xff\xfe:"}\n',
}


@pytest.mark.parametrize("chunk_bytes", [3, 1 << 24])
@pytest.mark.parametrize("name", CONTENTS)
def test_scan_hashes_and_counts_lines_and_colons_across_chunks(
    tmp_path, monkeypatch, name, chunk_bytes
):
    data = CONTENTS[name]
    path = tmp_path / "file.json"
    path.write_bytes(data)
    monkeypatch.setattr(scanning, "CHUNK_BYTES", chunk_bytes)

    result = scanning.scan(str(path))

    unterminated = bool(data) and not data.endswith(b"\n")
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.lines == data.count(b"\n") + unterminated
    assert result.colons == data.count(b":")
