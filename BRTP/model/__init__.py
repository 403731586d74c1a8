"""The Pyomo reference formulation of the B-RTP QP."""

from BRTP.model.build import build_model, extract_solution, solve_with_highs

__all__ = ["build_model", "extract_solution", "solve_with_highs"]
