"""A cache on disk that holds data only: Parquet tables, Arrow columns and JSON, never pickles.

Reading it runs no code from the files (no pickle, no object hooks): a table comes back as
the numbers and strings that were written. Every entry is a folder with a ``manifest.json``
that lists its files with their SHA-256; the folder appears at once (written under a temporary
name, then renamed), so processes that read while another writes never see half an entry.

What is protected: files another local user could have written. The cache folder, each entry
and each file must be owned by the current user and writable by nobody else (no group or
world write bit, no symbolic link), else :class:`UnsafeCacheError` names the path, its owner
and mode and the fix; a file that does not match its manifest (damaged, truncated or edited)
is not used, and the entry is built afresh. Not protected: the user's own account (whoever
can write as the user can also rewrite the manifest).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cosim.core.digest import sha256
from cosim.core.errors import ConfigError

MANIFEST = "manifest.json"
FORMAT = 1
"""Version of the entry layout; an entry of another version is built afresh."""


class UnsafeCacheError(ConfigError):
    """A cache path that another user could have written: refused, never read."""


class DamagedEntryError(Exception):
    """An entry whose files do not match its manifest (build it afresh)."""


def check_safe(path: Path) -> None:
    """UnsafeCacheError unless ``path`` is owned by this user, no symlink, and not group- or
    world-writable."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    problem = ""
    if stat.S_ISLNK(info.st_mode):
        problem = "is a symbolic link"
    elif hasattr(os, "getuid") and info.st_uid != os.getuid():
        problem = f"is owned by uid {info.st_uid}, not by this user (uid {os.getuid()})"
    elif info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problem = f"is writable by group or others (mode {stat.S_IMODE(info.st_mode):o})"
    if problem:
        raise UnsafeCacheError(
            f"cache path {str(path)!r} {problem}: refused, since another user could have "
            "written it; delete it (the cache is rebuilt) or set COSIM_CACHE_DIR to a folder "
            "only you can write"
        )


def read_entry(root: Path, name: str) -> tuple[Path, dict[str, Any]] | None:
    """The folder and manifest of entry ``name`` under ``root``; None if there is none.

    Checks ownership and modes of ``root``, the entry, every file, and every file's SHA-256.
    Raises UnsafeCacheError (refused) or DamagedEntryError (to be rebuilt).
    """
    check_safe(root)
    folder = root / name
    check_safe(folder)
    if not folder.is_dir():
        return None
    path = folder / MANIFEST
    check_safe(path)
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DamagedEntryError(f"{path}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DamagedEntryError(f"{path}: not a format-{FORMAT} manifest")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise DamagedEntryError(f"{path}: no file list")
    for file, digest in files.items():
        item = folder / str(file)
        if item.parent != folder:
            raise DamagedEntryError(f"{path}: file name {file!r} leaves the entry")
        check_safe(item)
        if not item.is_file() or sha256(item) != digest:
            raise DamagedEntryError(f"{item}: missing or not the file the manifest lists")
    return folder, manifest


def write_entry(
    root: Path, name: str, fill: Callable[[Path], dict[str, Any]]
) -> tuple[Path, dict[str, Any]]:
    """Write entry ``name``: ``fill(folder)`` writes the files and returns the manifest's
    data; the SHA-256 of every file is added, then the folder is renamed into place.

    An entry already there (damaged, or written meanwhile by another process) is replaced.
    """
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    check_safe(root)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}-", suffix=".tmp"))  # mode 0o700
    try:
        manifest = dict(fill(tmp))
        manifest["format"] = FORMAT
        manifest["files"] = {p.name: sha256(p) for p in sorted(tmp.iterdir())}
        (tmp / MANIFEST).write_text(json.dumps(manifest))
        for item in tmp.iterdir():  # whatever the umask: only this user may write
            item.chmod(0o600)
        final = root / name
        if final.exists():
            old = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}-", suffix=".old"))
            os.replace(final, old / "entry")
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, final)  # atomic: readers see the old entry, none, or the whole new one
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final, manifest
