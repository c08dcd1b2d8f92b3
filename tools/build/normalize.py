"""Make generated files byte-for-byte reproducible.

Otter Assign gives inserted cells random ids, copies the master's execution metadata, and
writes zips whose entries carry the current time. These helpers remove every such source of
difference, so that building twice from the same source gives identical files.
"""

from __future__ import annotations

import copy
import pathlib
import zipfile

import nbformat

#: The timestamp written into every zip entry (the earliest a zip can hold).
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")


def notebook(nb: nbformat.NotebookNode, keep_outputs: bool = False) -> nbformat.NotebookNode:
    """A copy of ``nb`` with predictable cell ids and no execution metadata.

    Outputs and execution counts are removed unless ``keep_outputs``; kept outputs lose their
    own execution metadata and execution counts are renumbered from 1.
    """
    nb = copy.deepcopy(nb)
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata.pop("widgets", None)
    nb.metadata.get("language_info", {}).pop("version", None)
    count = 0
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
        for key in _VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type != "code":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            continue
        if not keep_outputs:
            cell.outputs, cell.execution_count = [], None
            continue
        count += 1
        cell.execution_count = count
        cell.outputs = coalesce_streams(cell.outputs)
        for output in cell.outputs:
            output.get("metadata", {}).pop("execution", None)
            # A widget's view names a random model id and is dead without a live kernel.
            output.get("data", {}).pop(WIDGET_VIEW, None)
            if "execution_count" in output:
                output["execution_count"] = count
    nbformat.validate(nb)
    return nb


def coalesce_streams(outputs: list) -> list:
    """Merge neighbouring stdout (or stderr) outputs: how a kernel splits them depends on timing."""
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            output.get("output_type") == "stream"
            and previous is not None
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            previous["text"] = "".join(previous["text"]) + "".join(output["text"])
        else:
            merged.append(output)
    return merged


def write_notebook(nb: nbformat.NotebookNode, path: pathlib.Path) -> None:
    """Write ``nb`` as nbformat 4 JSON with a final newline."""
    text = nbformat.writes(nb, version=4)
    pathlib.Path(path).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def zip_file(source: pathlib.Path, dest: pathlib.Path, extra: dict[str, bytes] | None = None) -> None:
    """Copy a zip with entries sorted by name, fixed timestamps and fixed permissions.

    ``extra`` adds (or replaces) entries: ``{name in the zip: contents}``. Python's bytecode caches
    (``__pycache__/``) are left out.
    """
    with zipfile.ZipFile(source) as zin:
        payload = {
            i.filename: zin.read(i)
            for i in zin.infolist()
            if not i.is_dir() and "__pycache__" not in i.filename.split("/")
        }
    payload.update(extra or {})
    write_zip(dest, sorted(payload.items()))


def write_zip(dest: pathlib.Path, entries: list[tuple[str, bytes]]) -> None:
    """Write ``(name, bytes)`` entries as a reproducible, deflated zip."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            mode = 0o755 if name.endswith(("run_autograder", ".sh")) else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            zout.writestr(info, data)
