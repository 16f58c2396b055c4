// Items reachable from a user's history through shared entities (2 hops:
// seen item -> entity <- other item), not yet seen, ranked by how many entities they share.
// $user_id, $limit
MATCH (u:User {id: $user_id})-[:INTERACTED]->(seen:Item)-[]->(e:Entity)<-[]-(rec:Item)
WHERE NOT (u)-[:INTERACTED]->(rec)
RETURN rec.id AS item_id, rec.title AS title, count(DISTINCT e) AS shared_entities,
       collect(DISTINCT coalesce(e.name, e.id))[0..5] AS via
ORDER BY shared_entities DESC, item_id
LIMIT $limit
