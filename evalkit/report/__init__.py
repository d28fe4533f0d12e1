"""Rendering results: rich text, JSON/JSONL/TSV, Markdown, HTML, LaTeX; files written atomically."""
