// Upsert entities. $rows: [{id, name, type}]
UNWIND $rows AS row
MERGE (e:Entity {id: row.id})
SET e.name = row.name, e.type = row.type
