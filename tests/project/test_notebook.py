"""The example notebook in docs/ runs as written and shows the result's HTML view and DataFrames."""

import nbformat
from nbclient import NotebookClient

from tests.documents import REPO_ROOT


def test_the_example_notebook_runs() -> None:
    notebook = nbformat.read(REPO_ROOT / "docs" / "example.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO_ROOT / "docs")}}
    ).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if o.output_type == "execute_result" and "text/html" in o["data"]]
    assert any("B-RTP result" in h and "AUW_ratio" in h for h in html)  # the result's own HTML view
    assert any("gamma=2" in h for h in html)  # the loads frame
    assert any(o.output_type == "display_data" and "image/png" in o["data"] for o in outputs)  # the plot
