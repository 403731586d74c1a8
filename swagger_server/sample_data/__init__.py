"""The project's own sample data: a deterministic generator and the files it wrote."""

from pathlib import Path

#: Where the committed sample files live (one JSON list per central-DB collection).
SAMPLE_DIR = Path(__file__).parent / "files"
