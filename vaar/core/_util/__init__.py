"""Small helpers every stage uses, each defined once.

* :mod:`.atomic` — write a file via a temporary name in its folder and a rename;
* :mod:`.hashing` — sha256 of bytes and of a file;
* :mod:`.graph` — connected components (``scipy.sparse.csgraph``);
* :mod:`.progress` — the one rich progress-bar style of the CLIs;
* :mod:`.registry` — registries by decorator (an unknown name lists the valid ones).

Nothing here imports torch or any other heavy dependency at module level.
"""
