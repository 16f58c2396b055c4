// Record interactions from the API: the MERGE of import_interactions (same `key`, so a
// retried request or a later re-import adds nothing), returning the keys written — an
// empty result means the user or the item is not in the graph.
// $rows: [{user_id, item_id, key, ts, weight, rating, kind, ctx}]
UNWIND $rows AS row
MATCH (u:User {id: row.user_id})
MATCH (i:Item {id: row.item_id})
MERGE (u)-[r:INTERACTED {key: row.key}]->(i)
SET r.ts = row.ts, r.weight = row.weight, r.rating = row.rating, r.kind = row.kind
SET r += row.ctx
RETURN row.key AS key
