// A user's interactions, most recent first. $user_id, $limit: int
MATCH (u:User {id: $user_id})-[x:INTERACTED]->(i:Item)
RETURN i.id AS item_id, i.title AS title, x.ts AS ts, x.rating AS rating, x.weight AS weight, x.kind AS kind
ORDER BY ts DESC, item_id
LIMIT $limit
