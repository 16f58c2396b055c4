// Text for the encoder: each item's title, description, attributes and the names of
// the entities it links to. $skip: int, $limit: int
MATCH (i:Item)
OPTIONAL MATCH (i)-[r]->(e:Entity)
WITH i, collect([type(r), coalesce(e.name, '')]) AS related
RETURN i.id AS id, properties(i) AS props, related
ORDER BY id
SKIP $skip LIMIT $limit
