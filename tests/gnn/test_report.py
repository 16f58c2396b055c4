"""The run report tells the truth: best value per column bold, collapsed baselines named."""

from __future__ import annotations

from tailgraph.gnn.data import TrainData
from tailgraph.gnn.models.attention_rerank import AttentionRerank
from tailgraph.gnn.models.blend import TextCFBlend
from tailgraph.gnn.models.lightgcn import LightGCN
from tailgraph.gnn.models.text_knn import TextKNN
from tailgraph.gnn.report import comparison_table


def _metrics(ndcg: float, **extra: object) -> dict[str, object]:
    return {"overall": {"ndcg@20": ndcg}, "best_epoch": 3, "epochs_run": 8, **extra}


def test_best_value_is_bold_whoever_has_it_and_collapsed_rows_say_so() -> None:
    table = comparison_table({
        "tailgraph": _metrics(0.34835, kg_selection={"use_kg": False}),
        "lightgcn": _metrics(0.34839),
        "blend_text_cf": _metrics(0.34839, equals="lightgcn", tuned={"alpha": 0.0}),
    })  # fmt: skip
    rows = {line.split(" | ")[0].strip("| "): line for line in table.splitlines()[2:]}
    assert (
        "**0.3484**" in rows["lightgcn"]
        and "**0.3483**" not in rows["tailgraph (KG dropped on validation)"]
    )
    assert "blend_text_cf (= lightgcn after tuning: {'alpha': 0.0})" in rows
    assert " 3/8 " in rows["lightgcn"]


def test_blend_and_rerank_say_what_they_reduce_to(tiny_data: TrainData) -> None:
    cf, text = LightGCN(tiny_data), TextKNN(tiny_data)
    assert TextCFBlend(cf, text, alpha=0.0).equals() == "lightgcn"
    assert TextCFBlend(cf, text, alpha=1.0).equals() == "text_knn"
    assert TextCFBlend(cf, text, alpha=0.3).equals() is None
    assert AttentionRerank(cf, beta=0.0).equals() == "lightgcn"
    assert AttentionRerank(cf, beta=0.5).equals() is None
