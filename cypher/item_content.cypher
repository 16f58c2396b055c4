// An item's stored properties and outgoing KG links as [relation, target id] pairs, to
// tell a retried add of the same item (its answer was lost) from a clash with another. $id
MATCH (i:Item {id: $id})
RETURN properties(i) AS props, [(i)-[r]->(t) | [type(r), t.id]] AS links
