"""Recommenders: ours (`TailgraphModel`) and every baseline, behind one small interface."""
