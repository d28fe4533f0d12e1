"""Scale-out on Dask: the same ``score`` and ``compare`` runs over inputs read in partitions by a cluster's workers.

``connect`` (``--cluster`` addresses), ``shards`` (files of an input and their indexes), ``plan`` (streams and
partitions), ``tasks`` (what a worker does for one partition), ``parts`` (partitioned output and checkpoints),
``runner`` (submitting tasks) and ``run`` (the driver). Nothing here imports Dask until a cluster is used.
"""
