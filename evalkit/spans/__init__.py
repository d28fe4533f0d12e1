"""Garbled spans: align (TER with shifts) -> tags -> merge -> classify."""
