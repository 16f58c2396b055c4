// Add one item and all its KG links in ONE statement: one transaction on either backend,
// so a failure (the graph stopped mid-write, a full disk) leaves nothing behind and a retry
// starts clean. The lines from `// repeat` to `// end repeat` are written once per
// (relation, target label) group of the item's links, __RELATION__ and __TAIL__ filled and
// $links_N numbered (kg.cypher_files.repeat_section). MERGE throughout: re-running it for
// the same item changes nothing. $item: {id, title, description, attrs}; $links_N: [id]
MERGE (i:Item {id: $item.id})
SET i.title = $item.title, i.description = $item.description
SET i += $item.attrs
// repeat
WITH i
OPTIONAL MATCH (t:__TAIL__)
WHERE t.id IN $links_N
FOREACH (_ IN CASE WHEN t IS NULL THEN [] ELSE [1] END | MERGE (i)-[:__RELATION__]->(t))
WITH DISTINCT i
// end repeat
RETURN i.id AS id
