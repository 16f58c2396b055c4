// Items reachable from a user's history through shared entities (2 hops:
// seen item -> entity <- other item), not yet seen, ranked by how many entities they share;
// `via` names the first five of those entities by name (ordered before collect(), so both
// servers pick the same five). $user_id, $limit: int
MATCH (u:User {id: $user_id})-[:INTERACTED]->(seen:Item)-[]->(e:Entity)<-[]-(rec:Item)
WHERE NOT (u)-[:INTERACTED]->(rec)
WITH DISTINCT rec, e, coalesce(e.name, e.id) AS name
ORDER BY name
WITH rec, count(e) AS shared_entities, collect(DISTINCT name) AS names
RETURN rec.id AS item_id, rec.title AS title, shared_entities, names[0..5] AS via
ORDER BY shared_entities DESC, item_id
LIMIT $limit
