"""Cite AI companies' own words once; check and publish everything that cites them."""

__version__ = "0.1.0"
