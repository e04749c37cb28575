"""``vaar publish``: the Hugging Face dataset folder (``folder``), its card, ``croissant.json``,
the datasheet, release names and the fallback split. Reads the build's manifest; never downloads.
"""
