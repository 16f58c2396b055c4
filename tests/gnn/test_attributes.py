"""User attribute coding: what training stores is what serving applies to a new value."""

from __future__ import annotations

import pandas as pd
import torch
from tailgraph.gnn.data import user_attributes


def test_columns_are_coded_binned_or_dropped() -> None:
    users = pd.DataFrame(
        {
            "id": [f"u{i}" for i in range(40)],
            "age": [18 + i for i in range(40)],  # numeric, many values: 8 quantile bins
            "country": ["BR", "DE"] * 20,  # categorical
            "plan": ["free"] * 40,  # constant: dropped
            "email": [f"{i}@x" for i in range(40)],  # id-like: dropped
        }
    )
    codes, columns = user_attributes(users)
    assert [c.name for c in columns] == ["age", "country"]
    age, country = columns
    assert age.bins is not None and len(age.categories) == 8 and country.bins is None
    assert codes.shape == (40, 2) and int(codes.min()) >= 1
    # Coding a raw value again gives the code training gave that user ...
    for row in (0, 17, 39):
        assert age.code(int(users.loc[row, "age"])) == int(codes[row, 0])
        assert country.code(users.loc[row, "country"]) == int(codes[row, 1])
    # ... an unseen category or a number outside the bins has none.
    assert country.code("FR") is None and age.code(200) is None
    assert age.size == 9 and country.size == 3


def test_no_usable_column() -> None:
    codes, columns = user_attributes(pd.DataFrame({"id": ["a", "b"], "plan": ["x", "x"]}))
    assert columns == [] and codes.shape == (2, 0) and codes.dtype == torch.long
