// Uniqueness constraints on ids (one per label) and an index on interaction keys.
// Run by `tailgraph import` before the first write; safe to run again.
CREATE CONSTRAINT item_id IF NOT EXISTS FOR (i:Item) REQUIRE i.id IS UNIQUE;
CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE;
CREATE CONSTRAINT user_id IF NOT EXISTS FOR (u:User) REQUIRE u.id IS UNIQUE;
CREATE INDEX interacted_key IF NOT EXISTS FOR ()-[r:INTERACTED]-() ON (r.key);
