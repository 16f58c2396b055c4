// Upsert KG triples of one relation between one pair of labels. The importer
// replaces __HEAD__/__TAIL__ (Item or Entity) and __RELATION__ (a validated
// identifier): Cypher takes no parameters for labels and types. $rows: [{head, tail, weight}]
UNWIND $rows AS row
MATCH (h:__HEAD__ {id: row.head})
MATCH (t:__TAIL__ {id: row.tail})
MERGE (h)-[r:__RELATION__]->(t)
SET r.weight = row.weight
