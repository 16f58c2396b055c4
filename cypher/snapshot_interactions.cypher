// Snapshot export, one page of interactions with all their properties. $skip: int, $limit: int
MATCH (u:User)-[x:INTERACTED]->(i:Item)
RETURN u.id AS user_id, i.id AS item_id, properties(x) AS props
ORDER BY x.key
SKIP $skip LIMIT $limit
