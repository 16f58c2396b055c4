// Upsert items with their text and attribute columns. $rows: [{id, title, description, attrs}]
UNWIND $rows AS row
MERGE (i:Item {id: row.id})
SET i.title = row.title, i.description = row.description
SET i += row.attrs
