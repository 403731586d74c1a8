"""Validated inputs: the portfolio, the flex request and their parsers."""

from BRTP.data.eve import flex_request_from_documents, portfolio_from_documents
from BRTP.data.portfolio import Devices, FlexRequest, Portfolio, SlotGrid

__all__ = [
    "Devices",
    "FlexRequest",
    "Portfolio",
    "SlotGrid",
    "flex_request_from_documents",
    "portfolio_from_documents",
]
