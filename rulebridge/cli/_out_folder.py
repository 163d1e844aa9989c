"""The output folder of `rulebridge migrate`: files readable by their owner only, and a
private temporary folder that replaces the output folder only once everything is written.

The output holds personal data, so the folder is 0700 and every file 0600. It carries a
mark, `MARK`, listing what it wrote; `check_out_folder` refuses any path whose replacement
could destroy something the command did not write (the export itself, a folder holding it,
the current folder, a non-empty folder without the mark, or one holding other files), and
`atomic_folder` removes of the old folder only the files its mark lists.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from engine.errors import RulebridgeError

__all__ = [
    "MARK",
    "OutFolder",
    "OutFolderError",
    "atomic_folder",
    "check_out_folder",
    "private_text",
    "write_json",
    "write_text",
]

MARK = ".rulebridge-output.json"
"""The file that marks a folder as written by `rulebridge migrate`, listing what it wrote."""
_MARK_FORMAT = "rulebridge.migrate-output/1"
_MARK_LIMIT = 1_000_000


def private_text(path: Path, newline: str | None = None) -> IO[str]:
    """`path` created (or truncated) for writing UTF-8 text, readable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(descriptor, "w", encoding="utf-8", newline=newline)


def write_json(path: Path, data: Any) -> None:
    """`data` as indented JSON, owner-only."""
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_text(path: Path, text: str) -> None:
    """`text` as UTF-8, owner-only."""
    with private_text(path) as out:
        out.write(text)


# -- the output folder: refuse what could destroy, replace only what we wrote ---------------


class OutFolderError(RulebridgeError):
    """The output folder cannot be written or replaced safely; the message says why and how."""


@dataclass(frozen=True, slots=True)
class OutFolder:
    """A checked output path: where it is, and what an earlier run wrote there.

    Attributes:
        path: The absolute path, symbolic links resolved.
        given: The path as the user gave it, for messages.
        previous: The files an earlier run wrote (its mark lists them), or None when there is
            no folder yet; empty for an empty folder.
    """

    path: Path
    given: str
    previous: tuple[str, ...] | None


def check_out_folder(out: Path, inputs: Mapping[str, Path | None]) -> OutFolder:
    """`out` checked: replacing it can destroy nothing the command did not write.

    Args:
        out: The output folder as given.
        inputs: Each input by its option (``{"--jupix": Path("export")}``); None is skipped.

    Raises:
        OutFolderError: `out` is the current folder or holds it; is, holds or lies inside an
            input; is a file; is a non-empty folder without `MARK`; or holds files the mark
            does not list. The message names the fix.

    Example::

        check_out_folder(Path("alto"), {"--jupix": Path("export")}).previous
    """
    path = Path(os.path.abspath(out)).resolve()
    refuse = _refusal(str(out))
    here = Path.cwd().resolve()
    if path == here or path in here.parents:
        what = "is the current folder" if path == here else "holds the current folder"
        raise refuse(f"{what}, and the output folder is replaced as a whole")
    for option, given in inputs.items():
        if given is not None:
            _apart(path, option, given, refuse)
    return OutFolder(path, str(out), _previous(path, refuse))


def _refusal(given: str) -> Callable[[str], OutFolderError]:
    def refuse(why: str) -> OutFolderError:
        return OutFolderError(
            f"--out {given}: {why}; give a new or empty folder of its own, e.g. --out alto"
        )

    return refuse


def _apart(path: Path, option: str, given: Path, refuse: Callable[[str], OutFolderError]) -> None:
    other = Path(os.path.abspath(given)).resolve()
    if path == other:
        raise refuse(f"is the {option} input itself")
    if path in other.parents:
        raise refuse(f"holds the {option} input {given}, which replacing it would delete")
    if other in path.parents:
        raise refuse(f"is inside the {option} input {given}; write the output outside it")


def _previous(path: Path, refuse: Callable[[str], OutFolderError]) -> tuple[str, ...] | None:
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_dir():
        raise refuse("is a file, not a folder")
    entries = sorted(os.listdir(path))
    if not entries:
        return ()
    if MARK not in entries:
        raise refuse(
            f"is not empty and was not written by rulebridge migrate (it has no {MARK}), "
            "so replacing it could destroy files"
        )
    listed = _read_mark(path / MARK, refuse)
    foreign = [name for name in entries if name != MARK and not _ours(path, name, listed)]
    if foreign:
        more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        shown = ", ".join(foreign[:5]) + more
        raise refuse(f"holds files rulebridge migrate did not write ({shown}); move them out")
    return tuple(name for name in listed if name in entries)


def _ours(folder: Path, name: str, listed: tuple[str, ...]) -> bool:
    entry = folder / name
    return name in listed and entry.is_file() and not entry.is_symlink()


def _read_mark(path: Path, refuse: Callable[[str], OutFolderError]) -> tuple[str, ...]:
    try:
        with path.open("rb") as stream:
            document = json.loads(stream.read(_MARK_LIMIT + 1).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise refuse(f"its {MARK} cannot be read ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != _MARK_FORMAT:
        raise refuse(f"its {MARK} is not one rulebridge migrate writes")
    files = document.get("files")
    if not isinstance(files, list) or not all(isinstance(n, str) and _plain(n) for n in files):
        raise refuse(f"its {MARK} is not one rulebridge migrate writes")
    return tuple(files)


def _plain(name: str) -> bool:
    return name not in ("", ".", "..", MARK) and "/" not in name and "\0" not in name


@contextmanager
def atomic_folder(out: OutFolder, warn: Callable[[str], None] = print) -> Iterator[Path]:
    """A private (0700) temporary folder beside `out` that replaces it when the block ends.

    On an error in the block the temporary folder goes and `out` is untouched. At the end the
    folder gets its `MARK`, `out` is checked again (`check_out_folder`'s rules), and the old
    folder is swapped out; of it only the files its mark listed are removed. Anything else
    that appeared in it meanwhile is kept, beside `out`, and `warn` says where.

    Raises:
        OutFolderError: The temporary folder cannot be made, or `out` changed meanwhile so
            that replacing it is no longer safe (the new output is left where it was made).

    Example::

        with atomic_folder(check_out_folder(Path("alto"), {})) as work:
            write_text(work / "contacts.json", "[]\\n")
    """
    work = _make_work(out)
    try:
        yield work
        write_json(work / MARK, {"format": _MARK_FORMAT, "files": sorted(os.listdir(work))})
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _swap(out, work, warn)


def _make_work(out: OutFolder) -> Path:
    try:
        out.path.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out.path.name}.", dir=out.path.parent))
    except OSError as exc:
        raise OutFolderError(
            f"--out {out.given}: cannot write beside it in {out.path.parent} "
            f"({exc.strerror or exc}); give a folder you can write"
        ) from exc


def _swap(out: OutFolder, work: Path, warn: Callable[[str], None]) -> None:
    try:
        previous = _previous(out.path, _refusal(out.given))
    except OutFolderError as exc:
        raise OutFolderError(f"{exc} (the new output is left in {work})") from None
    old = out.path.with_name(f".{out.path.name}.old-{secrets.token_hex(4)}")
    try:
        if previous is not None:
            out.path.rename(old)
        try:
            work.rename(out.path)
        except OSError:
            if previous is not None:
                old.rename(out.path)
            raise
    except OSError as exc:
        raise OutFolderError(
            f"--out {out.given}: cannot be replaced ({exc.strerror or exc}); "
            f"the new output is left in {work}"
        ) from exc
    if previous is not None:
        _remove_ours(old, previous, warn)


def _remove_ours(old: Path, listed: tuple[str, ...], warn: Callable[[str], None]) -> None:
    for name in (*listed, MARK):
        if _ours(old, name, (*listed, MARK)):
            (old / name).unlink()
    try:
        old.rmdir()
    except OSError:
        warn(f"warning: kept {old}: files appeared in the old output that it did not write")
