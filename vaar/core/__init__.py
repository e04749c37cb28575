"""The ground floor: errors, small utilities, the taxonomy, CSV safety and every data contract.

Nothing here imports from ``vaar.curation``, ``vaar.bench``, ``vaar.baselines`` or
``vaar.robustness`` (import-linter checks it in ``make lint``), and nothing here imports torch.
"""
