"""evalkit: translation-quality evaluation with sacrebleu-exact scores, significance and error spans."""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "score", "compare", "InputError"]


def __getattr__(name: str):
    # Lazy so that `import evalkit` stays cheap for the CLI.
    if name == "score":
        from evalkit.api import score

        return score
    if name == "compare":
        from evalkit.comparison import compare

        return compare
    if name == "InputError":
        from evalkit.errors import InputError

        return InputError
    raise AttributeError(name)
