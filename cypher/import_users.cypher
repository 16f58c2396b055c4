// Upsert users with their attribute columns. $rows: [{id, attrs}]
UNWIND $rows AS row
MERGE (u:User {id: row.id})
SET u += row.attrs
