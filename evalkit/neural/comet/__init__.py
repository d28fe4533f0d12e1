"""Unbabel COMET checkpoints (COMET-22, CometKiwi, XCOMET, ...) run natively: no ``unbabel-comet``, no hub.

``checkpoint`` reads the published folder (``checkpoints/model.ckpt`` + ``hparams.yaml``) and resolves the
hyper-parameters the way ``comet.load_from_checkpoint`` 2.2.7 does; ``encoder`` builds the XLM-R / XLM-R-XL
encoder from the checkpoint's own tensors; ``layers`` holds the layer mix (softmax / sparsemax, masked layer
norm), pooling and the feed-forward head; ``models`` the four classes by ``class_identifier``; ``spans``
XCOMET's span decoding; ``metric`` plugs them into evalkit's metric registry as ``comet``.
"""
