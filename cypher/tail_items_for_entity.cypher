// Tail items linked to an entity: at most $max_interactions interactions, fewest first.
// $entity_id, $max_interactions: int, $limit: int
MATCH (e:Entity {id: $entity_id})<-[]-(i:Item)
OPTIONAL MATCH (i)<-[x:INTERACTED]-(:User)
WITH i, count(x) AS interactions
WHERE interactions <= $max_interactions
RETURN i.id AS item_id, i.title AS title, interactions
ORDER BY interactions, item_id
LIMIT $limit
