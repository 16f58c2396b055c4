// The most interacted-with items (the head). $limit: int, how many (e.g. 20)
MATCH (i:Item)<-[x:INTERACTED]-(:User)
RETURN i.id AS item_id, i.title AS title, count(x) AS interactions
ORDER BY interactions DESC, item_id
LIMIT $limit
