"""Generated files: which differ from what the sources generate, and bringing them in line."""

from __future__ import annotations

from pathlib import Path

from hybridops.errors import BadInput


def stale(files: dict[Path, str], *, prune_glob: str | None = None) -> list[Path]:
    """Files missing or different; with prune_glob, also files in their directories that
    nothing generates any more."""
    differs = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    extra: list[Path] = []
    if prune_glob:
        for directory in {p.parent for p in files}:
            if directory.is_dir():
                extra += [f for f in directory.glob(prune_glob) if f not in files]
    return sorted(differs + extra)


def bring_in_line(files: dict[Path, str], paths: list[Path]) -> None:
    """Write the generated text of each stale path; remove the ones nothing generates."""
    for path in paths:
        try:
            if path in files:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(files[path])
            else:
                path.unlink()
        except OSError as exc:
            raise BadInput(f"--out: cannot write {path}: {exc.strerror or exc}") from None
