// The least interacted-with items, items with none included (the tail). $limit: int
MATCH (i:Item)
OPTIONAL MATCH (i)<-[x:INTERACTED]-(:User)
RETURN i.id AS item_id, i.title AS title, count(x) AS interactions
ORDER BY interactions, item_id
LIMIT $limit
