// Embedded-server variant of schema.cypher: FalkorDB has no Cypher constraint
// syntax; range indexes on the ids make MERGE a lookup. The importer validates
// uniqueness before writing, so the graph never gets a duplicate id.
CREATE INDEX FOR (i:Item) ON (i.id);
CREATE INDEX FOR (e:Entity) ON (e.id);
CREATE INDEX FOR (u:User) ON (u.id);
