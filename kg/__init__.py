"""Graph layer: store connection (embedded FalkorDB or Neo4j), dataset formats, import, snapshot."""
