"""The Pyomo reference formulation of the B-RTP QP (spec §3-§5): one ``add_*`` per concern."""

from BRTP.model.build import build_model, extract_solution

__all__ = ["build_model", "extract_solution"]
