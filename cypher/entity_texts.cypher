// Text for the encoder: each entity's name and type. $skip: int, $limit: int
MATCH (e:Entity)
RETURN e.id AS id, e.name AS name, e.type AS type
ORDER BY id
SKIP $skip LIMIT $limit
