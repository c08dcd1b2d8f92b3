"""Finding the submissions: Gradescope's export folder (with its metadata) or a plain folder.

    subs, ignored = discover(folder)

Only reads ``folder``; never writes, moves or deletes anything in it.
"""

from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass

METADATA_FILE = "submission_metadata.yml"
SUBMISSION_SUFFIXES = (".zip", ".ipynb")


class BatchError(RuntimeError):
    """Bad input to the batch grader; the message says what is accepted."""


@dataclass
class Submission:
    key: str  # unique, names the results folder
    path: pathlib.Path  # a .zip or .ipynb file, or a folder of uploaded files
    file: str  # path relative to the submissions folder, for people
    name: str = ""
    email: str = ""
    sid: str = ""
    created_at: str = ""
    gradescope_score: str = ""
    problem: str = ""  # set when it cannot even be sent for grading


def _plain(key) -> str:
    """A YAML key without Ruby's leading colon: ':submitters' -> 'submitters'."""
    return str(key).lstrip(":")


def _get(entry: dict, key: str, default=None):
    if not isinstance(entry, dict):
        return default
    for k, v in entry.items():
        if _plain(k) == key:
            return v
    return default


def load_metadata(path: pathlib.Path) -> dict[str, dict]:
    """Gradescope's ``submission_metadata.yml``: {folder name: {"submitters": [...], ...}}.

    Gradescope writes Ruby-style keys (``:submitters:``, ``:name:``); plain keys work too.
    """
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BatchError(
            f"{path} is not readable YAML ({exc}); expected Gradescope's export "
            "metadata: a mapping of submission folder names to their :submitters:"
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BatchError(
            f"{path} holds a {type(data).__name__}; expected a mapping of submission "
            "folder names (submission_<id>) to their metadata"
        )
    return {str(k): (v if isinstance(v, dict) else {}) for k, v in data.items()}


def _identity(entry: dict) -> dict[str, str]:
    submitters = _get(entry, "submitters", []) or []
    if isinstance(submitters, dict):
        submitters = [submitters]
    people = [s for s in submitters if isinstance(s, dict)]

    def joined(key: str) -> str:
        return "; ".join(str(_get(p, key, "") or "") for p in people if _get(p, key) not in (None, ""))

    score = _get(entry, "score", "")
    return {
        "name": joined("name"),
        "email": joined("email"),
        "sid": joined("sid"),
        "created_at": str(_get(entry, "created_at", "") or ""),
        "gradescope_score": "" if score is None else str(score),
    }


def _safe_key(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "submission"


def discover(folder: pathlib.Path) -> tuple[list[Submission], list[str]]:
    """The submissions in ``folder`` and the names of entries that are not submissions.

    A Gradescope export (``submission_metadata.yml`` present) yields one submission per folder
    it lists, plus any folder or file it does not list; otherwise every ``.zip``, ``.ipynb`` and
    folder at the top level is one submission. Hidden entries are ignored.
    """
    if not folder.exists():
        raise BatchError(
            f"{folder} does not exist; SUBMISSIONS must be a folder: Gradescope's export "
            f"(submission_<id>/ folders and {METADATA_FILE}) or a folder of .zip/.ipynb files"
        )
    if not folder.is_dir():
        raise BatchError(
            f"{folder} is a file; SUBMISSIONS must be a folder: Gradescope's export "
            f"(submission_<id>/ folders and {METADATA_FILE}) or a folder of .zip/.ipynb files "
            "(grade a single file with `make grade-one SUBMISSION=...`)"
        )
    metadata = load_metadata(folder / METADATA_FILE) if (folder / METADATA_FILE).is_file() else None
    entries = sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.name)
    subs: list[Submission] = []
    ignored: list[str] = []
    used: set[str] = set()

    def unique(key: str) -> str:
        key, n = _safe_key(key), 2
        base = key
        while key in used:
            key, n = f"{base}-{n}", n + 1
        used.add(key)
        return key

    if metadata is not None:
        for name, entry in metadata.items():
            path = folder / name
            sub = Submission(key=unique(name), path=path, file=name, **_identity(entry))
            if not path.exists():
                sub.problem = f"listed in {METADATA_FILE} but {name} is not in the export folder"
            subs.append(sub)
    listed = set(metadata or {})
    stems = [p.stem for p in entries if p.is_file() and p.suffix.lower() in SUBMISSION_SUFFIXES]
    for path in entries:
        if path.name in listed or path.name == METADATA_FILE:
            continue
        if path.is_dir():
            key = path.name
        elif path.suffix.lower() in SUBMISSION_SUFFIXES:
            key = path.stem if stems.count(path.stem) == 1 else path.name.replace(".", "-")
        else:
            ignored.append(path.name)
            continue
        subs.append(Submission(key=unique(key), path=path, file=path.name, name=path.name))
    if not subs:
        raise BatchError(
            f"no submissions found in {folder}: expected Gradescope's export (submission_<id>/ "
            f"folders and {METADATA_FILE}), or .zip/.ipynb files or submission folders"
            + (f"; ignored {', '.join(ignored)}" if ignored else "")
        )
    return subs, ignored
