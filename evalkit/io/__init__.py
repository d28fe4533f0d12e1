"""Inputs: readers for text, records, datasets and raw documents, plus validation."""
