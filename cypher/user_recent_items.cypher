// The distinct items a user interacted with, most recent first (interactions without a
// timestamp last), for explanations. $user_id, $limit: int
MATCH (u:User {id: $user_id})-[x:INTERACTED]->(i:Item)
WITH i, max(x.ts) AS ts
RETURN i.id AS item_id, ts
ORDER BY coalesce(ts, -1.0) DESC, item_id
LIMIT $limit
