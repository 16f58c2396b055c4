// Uniqueness constraints on ids (one per label). No index on interaction keys: MERGE
// finds an interaction from its two matched endpoints, and the index only cost upkeep
// (import 1.2x faster without it, bench/import_bench.py).
// Run by `tailgraph import` before the first write; safe to run again.
CREATE CONSTRAINT item_id IF NOT EXISTS FOR (i:Item) REQUIRE i.id IS UNIQUE;
CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE;
CREATE CONSTRAINT user_id IF NOT EXISTS FOR (u:User) REQUIRE u.id IS UNIQUE;
