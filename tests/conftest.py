"""Shared fixtures: document sets and parsed jobs."""

import pytest

from tests.documents import SHARED_EXPORT, Documents, load_documents, sample_documents


@pytest.fixture(scope="session")
def sample_docs() -> Documents:
    """The project's own generated sample data."""
    return sample_documents()


@pytest.fixture(scope="session")
def shared_docs() -> Documents:
    """The real central-DB export in ../shared (skipped when absent)."""
    if not SHARED_EXPORT.is_dir():
        pytest.skip(f"shared central-DB export not found at {SHARED_EXPORT}")
    return load_documents(SHARED_EXPORT)
