"""Models: KG propagation of text embeddings, CF tower, fusion head; training and evaluation."""
