// Which of these item ids are already in the graph. $ids: [string]
UNWIND $ids AS id
MATCH (i:Item {id: id})
RETURN i.id AS id
