// An item's knowledge-graph neighbourhood: every entity/item linked to it, either direction. $item_id
MATCH (i:Item {id: $item_id})-[r]-(n)
WHERE type(r) <> 'INTERACTED'
RETURN type(r) AS relation,
       CASE WHEN startNode(r) = i THEN 'out' ELSE 'in' END AS direction,
       labels(n)[0] AS label, n.id AS id, coalesce(n.name, n.title) AS name, n.type AS type
ORDER BY relation, id
