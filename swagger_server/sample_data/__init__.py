"""The project's own sample data: a deterministic generator and the files it wrote."""

from pathlib import Path

#: Where the committed sample files live (one JSON list per central-DB collection).
SAMPLE_DIR = Path(__file__).parent / "files"
#: The user samples for the ``brtp`` command (a FlexGrid workbook and a tidy package).
USER_SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
#: The Frictionless descriptor of the tidy package format, shipped with the docs.
DATAPACKAGE = Path(__file__).resolve().parents[2] / "docs" / "datapackage.json"
