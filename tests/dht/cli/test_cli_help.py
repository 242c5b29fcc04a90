"""`dht <command> --help` describes every option and argument of every command."""

from __future__ import annotations

import argparse

import pytest

from dht.cli import build_parser


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


@pytest.mark.parametrize("command", sorted(_commands()))
def test_every_argument_has_help(command: str) -> None:
    parser = _commands()[command]
    missing = [a.dest for a in parser._actions
               if not isinstance(a, argparse._HelpAction) and not (a.help and a.help.strip())]
    assert missing == [], f"dht {command}: no help for {missing}"


def test_swarm_help_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["swarm", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for words in ("how many nodes", "first node", "databases", "every node on this address"):
        assert words in out
