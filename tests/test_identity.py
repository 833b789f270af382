"""The caller ARN is remembered per access key, and the key itself is never written."""

from __future__ import annotations

from pathlib import Path

from hybridops.aws.identity import cache_key, remembered_caller


def test_caller_is_looked_up_once_per_key_and_the_key_is_not_stored(tmp_path: Path) -> None:
    path = tmp_path / "identities.json"
    calls: list[str] = []

    def lookup(arn: str):
        def run() -> str:
            calls.append(arn)
            return arn

        return run

    alice = cache_key("AKIAALICE0000000", None)
    bob = cache_key("AKIABOB000000000", None)
    assert remembered_caller(path, alice, lookup("arn:alice")) == "arn:alice"
    assert remembered_caller(path, alice, lookup("arn:other")) == "arn:alice"
    assert remembered_caller(path, bob, lookup("arn:bob")) == "arn:bob"
    assert calls == ["arn:alice", "arn:bob"]
    assert "AKIA" not in path.read_text()


def test_a_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "identities.json"
    path.write_text("{not json")
    assert remembered_caller(path, cache_key("k", None), lambda: "arn:x") == "arn:x"
    assert cache_key("k", "http://a") != cache_key("k", "http://b")
