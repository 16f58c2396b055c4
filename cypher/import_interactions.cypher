// Upsert interactions; `key` identifies one interaction (user, item, time, kind),
// so re-importing the same rows adds nothing. $rows: [{user_id, item_id, key, ts, weight, rating, kind, ctx}]
UNWIND $rows AS row
MATCH (u:User {id: row.user_id})
MATCH (i:Item {id: row.item_id})
MERGE (u)-[r:INTERACTED {key: row.key}]->(i)
SET r.ts = row.ts, r.weight = row.weight, r.rating = row.rating, r.kind = row.kind
SET r += row.ctx
