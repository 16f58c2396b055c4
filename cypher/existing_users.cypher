// Which of these user ids are already in the graph. $ids: [string]
UNWIND $ids AS id
MATCH (u:User {id: id})
RETURN u.id AS id
