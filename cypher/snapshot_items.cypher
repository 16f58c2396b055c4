// Snapshot export, one page of items with all their properties. $skip: int, $limit: int
MATCH (i:Item)
RETURN i.id AS id, properties(i) AS props
ORDER BY id
SKIP $skip LIMIT $limit
