"""vaar.core.contracts.manifest_schema: the published features are one definition; the datasets-free Arrow schema and
features dict that publish writes agree with ``datasets.Features`` built from it."""

from __future__ import annotations

import json

import datasets

from vaar.core.contracts.manifest_schema import (
    dataset_features,
    published_arrow_schema,
    published_features_dict,
)
from vaar.core.taxonomy import default_taxonomy


def test_published_arrow_schema_is_what_datasets_makes_of_the_features() -> None:
    names = default_taxonomy().slugs
    feats = dataset_features(names)
    schema = published_arrow_schema(names)
    assert schema.remove_metadata() == feats.arrow_schema.remove_metadata()
    assert json.loads(schema.metadata[b"huggingface"]) == {"info": {"features": feats.to_dict()}}
    # datasets reads the features back from the shard's schema metadata
    assert datasets.Features.from_arrow_schema(schema) == feats


def test_published_features_dict_matches_for_any_class_list() -> None:
    for names in (["a"], ["b", "a", "c"], list(default_taxonomy().slugs)):
        assert published_features_dict(names) == dataset_features(names).to_dict()
