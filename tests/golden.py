"""Golden outputs of the bundled example: render them, compare them, or rewrite them.

    python tests/golden.py update   # rewrite fixtures/example/expected/ after a deliberate change
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dmodel.cli import main  # noqa: E402

EXAMPLE = REPO / "fixtures" / "example"
EXPECTED = EXAMPLE / "expected"


def render_example(out: Path) -> dict[str, bytes]:
    """Run design and generate on the bundled example into ``out``; return every file by relative path."""
    status = main(["design", str(EXAMPLE / "discovery.json"), "-o", str(out / "model.json")])
    if status != 0:
        raise RuntimeError(f"design failed with status {status}")
    status = main(["generate", str(out / "model.json"), "-o", str(out)])
    if status != 0:
        raise RuntimeError(f"generate failed with status {status}")
    return {str(path.relative_to(out)): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()}


def update() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        files = render_example(Path(scratch))
    for old in sorted(EXPECTED.rglob("*"), reverse=True) if EXPECTED.exists() else []:
        old.unlink() if old.is_file() else old.rmdir()
    for relative, content in files.items():
        target = EXPECTED / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    print(f"wrote {len(files)} expected files to {EXPECTED}", file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1:] != ["update"]:
        raise SystemExit("usage: python tests/golden.py update")
    update()
