// Snapshot export, one page of users with all their properties. $skip: int, $limit: int
MATCH (u:User)
RETURN u.id AS id, properties(u) AS props
ORDER BY id
SKIP $skip LIMIT $limit
