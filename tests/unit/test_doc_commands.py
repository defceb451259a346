"""Every ``harmonia-node`` / ``harmonia-coordinator`` command the docs show names real options.

Each command line in a fenced code block of ``README.md`` and ``docs/**/*.md``
(continuation lines joined, cut at the first shell operator) is walked through
the real argparse parser (``node.cli.build_parser`` /
``coordinator.cli.build_parser``, built without side effects): every
subcommand must exist, every ``--flag`` must belong to the command it follows
(or to a command above it; optional parts shown in brackets are checked
too), and a subcommand-taking command must be given one. Placeholders
(``<SITE>``, ``$VAR``, ``...``) stand for values and are accepted where a
value goes. The commands the integration tests run for real
(enrollment, backup and restore, the doctor, rounds) are not run twice here.
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from coordinator.cli import build_parser as coordinator_parser
from node.cli import build_parser as node_parser

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])
PROGRAMS = {"harmonia-node": node_parser, "harmonia-coordinator": coordinator_parser}
_COMMAND = re.compile(
    # at a command's position: the line's start (after a prompt, sudo, env assignments),
    # or after a shell operator; not a unit or job name (systemctl ... harmonia-node)
    r"(?:^\s*(?:\$\s+)?(?:sudo\s+(?:-u\s+\S+\s+)?)?(?:[A-Z_][A-Z0-9_]*=\S*\s+)*"
    r"|(?:&&|\|\||;|\||\$\()\s*(?:[A-Z_][A-Z0-9_]*=\S*\s+)*)"
    r"(harmonia-(?:node|coordinator))(?=\s|$)"
)
_INLINE = re.compile(r"`(harmonia-(?:node|coordinator)(?:\s[^`]*)?)`")
_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "2>", "2>&1", "&", ")", "#"}


@dataclass(frozen=True)
class DocCommand:
    """One command line shown in the docs."""

    path: Path
    line: int
    program: str
    words: tuple[str, ...]

    def __str__(self) -> str:
        shown = " ".join((self.program, *self.words))
        return f"{self.path.relative_to(REPO)}:{self.line}: {shown}"


def _code_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, logical line) inside fenced code blocks, continuations joined."""
    fenced = False
    pending = ""
    start = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if raw.lstrip().startswith("```"):
            fenced = not fenced
            pending = ""
            continue
        if not fenced:
            continue
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        yield start, pending + raw
        pending = ""


def _words(rest: str) -> tuple[str, ...]:
    lexer = shlex.shlex(rest, posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words: list[str] = []
    try:
        for word in lexer:
            if word in _OPERATORS or set(word) <= set(";&|<>()"):
                break
            word = word.strip("[]")  # optional parts shown in brackets are checked too
            if word:
                words.append(word)
    except ValueError:  # an unbalanced quote in an example: take what parsed
        pass
    return tuple(words)


def _inline_spans(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, code span) of inline spans that start with one of the programs."""
    fenced = False
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if raw.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            for match in _INLINE.finditer(raw):
                if " " in match.group(1):  # a bare program name in prose is a name
                    yield number, match.group(1)


def doc_commands() -> list[DocCommand]:
    """Every command line of the two programs in the docs' code blocks and inline spans."""
    found = []
    for path in DOCS:
        for number, line in [*_code_lines(path), *_inline_spans(path)]:
            for match in _COMMAND.finditer(line):
                words = _words(line[match.end() :])
                found.append(DocCommand(path, number, match.group(1), words))
    return found


def _placeholder(word: str) -> bool:
    return word.startswith(("<", "$", "{", "[")) or "..." in word or word.isupper()


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {option: a for a in parser._actions for option in a.option_strings}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return None


def check(program: str, words: tuple[str, ...]) -> str | None:
    """None when ``words`` fit the program's parser, else what does not."""
    chain = [PROGRAMS[program]()]
    index = 0
    while index < len(words):
        word = words[index]
        parser = chain[-1]
        if word.startswith("-") and len(word) > 1 and not word[1:2].isdigit():
            name = word.split("=", 1)[0]
            action = next((_options(p)[name] for p in reversed(chain) if name in _options(p)), None)
            if action is None:
                path = " ".join(p.prog for p in chain[-1:])
                return f"{path} has no option {name}"
            if action.nargs != 0 and "=" not in word:
                index += 1  # its value
            index += 1
            continue
        subcommands = _subcommands(parser)
        if subcommands is not None and not _placeholder(word):
            if word not in subcommands:
                return f"{parser.prog} has no subcommand {word!r} (it has {sorted(subcommands)})"
            chain.append(subcommands[word])
        index += 1
    wants = _subcommands(chain[-1])
    if wants is not None and not {"-h", "--help"} & set(words):
        return f"{chain[-1].prog} needs a subcommand (one of {sorted(wants)})"
    return None


COMMANDS = doc_commands()


def test_the_docs_show_commands_of_both_programs() -> None:
    programs = {c.program for c in COMMANDS}
    assert programs == set(PROGRAMS)
    assert len(COMMANDS) > 20


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_a_documented_command_names_real_subcommands_and_options(command: DocCommand) -> None:
    problem = check(command.program, command.words)
    assert problem is None, f"{command}\n  -> {problem}"


def test_the_check_catches_a_wrong_flag_and_a_wrong_subcommand() -> None:
    assert check("harmonia-node", ("serve", "--port", "8104")) is None
    assert check("harmonia-node", ("--log-format", "json", "serve")) is None
    assert "no option --colour" in str(check("harmonia-node", ("serve", "--colour", "red")))
    assert "no subcommand 'serv'" in str(check("harmonia-node", ("serv",)))
    assert check("harmonia-coordinator", ("site", "add", "<NAME>")) is None
