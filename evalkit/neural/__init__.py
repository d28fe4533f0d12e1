"""Neural metrics that run offline on a CPU: a COMET-style estimator and an embedding similarity.

Nothing here is imported by ``import evalkit`` or by lexical runs: torch and transformers load only
when a neural metric is built (see ``evalkit.metrics.REGISTRY``).
"""
