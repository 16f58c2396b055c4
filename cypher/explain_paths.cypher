// Knowledge-graph paths of 1 to 3 hops from any of the items $ids (a user's history) to
// the item $item_id, for explanations: one branch per shape, each hop's label (Item or
// Entity) spelled out, so no path walks through a User (a variable-length [*1..3] would,
// and took 3-40 s on Last.fm). Each branch meets in the middle: the target's near
// neighbours are collected first, then the history side expands only from its own
// items and keeps what reaches that set, so a hub (a genre of thousands of items) is
// never expanded; the last MATCH re-binds the path between known nodes.
// Nodes come back as {id, label, name, type}, relationships as {type, forward}
// (forward = pointing from the history side towards the target). Each branch orders its
// paths by their node ids before its LIMIT, so which paths reach the ranking is the same
// on every server and every run.
// $ids: [item id], $item_id, $limit: int (paths per shape)
UNWIND $ids AS sid
MATCH (s:Item {id: sid})
MATCH (t:Item {id: $item_id})
MATCH p = (s)-[]-(t)
WHERE s <> t
RETURN [n IN nodes(p) | {id: n.id, label: labels(n)[0], name: coalesce(n.name, n.title), type: n.type}] AS nodes,
       [k IN range(0, size(relationships(p)) - 1) | {type: type(relationships(p)[k]), forward: startNode(relationships(p)[k]) = nodes(p)[k]}] AS relationships
ORDER BY [n IN nodes | n.id], [r IN relationships | r.type]
LIMIT $limit
UNION ALL
MATCH (t:Item {id: $item_id})-[]-(m:Entity)
WITH t, collect(DISTINCT m) AS near
UNWIND $ids AS sid
MATCH (s:Item {id: sid})-[]-(m:Entity)
WHERE m IN near AND s <> t
WITH DISTINCT s, m, t
MATCH p = (s)-[]-(m)-[]-(t)
RETURN [n IN nodes(p) | {id: n.id, label: labels(n)[0], name: coalesce(n.name, n.title), type: n.type}] AS nodes,
       [k IN range(0, size(relationships(p)) - 1) | {type: type(relationships(p)[k]), forward: startNode(relationships(p)[k]) = nodes(p)[k]}] AS relationships
ORDER BY [n IN nodes | n.id], [r IN relationships | r.type]
LIMIT $limit
UNION ALL
MATCH (t:Item {id: $item_id})-[]-(x:Item)
WITH t, collect(DISTINCT x) AS near
UNWIND $ids AS sid
MATCH (s:Item {id: sid})-[]-(x:Item)
WHERE x IN near AND s <> t AND s <> x
WITH DISTINCT s, x, t
MATCH p = (s)-[]-(x)-[]-(t)
RETURN [n IN nodes(p) | {id: n.id, label: labels(n)[0], name: coalesce(n.name, n.title), type: n.type}] AS nodes,
       [k IN range(0, size(relationships(p)) - 1) | {type: type(relationships(p)[k]), forward: startNode(relationships(p)[k]) = nodes(p)[k]}] AS relationships
ORDER BY [n IN nodes | n.id], [r IN relationships | r.type]
LIMIT $limit
UNION ALL
MATCH (t:Item {id: $item_id})-[]-(m:Entity)
WITH t, collect(DISTINCT m) AS near
UNWIND $ids AS sid
MATCH (s:Item {id: sid})-[]-(a:Entity)-[]-(m:Entity)
WHERE m IN near AND s <> t AND a <> m
WITH DISTINCT s, a, m, t
MATCH p = (s)-[]-(a)-[]-(m)-[]-(t)
RETURN [n IN nodes(p) | {id: n.id, label: labels(n)[0], name: coalesce(n.name, n.title), type: n.type}] AS nodes,
       [k IN range(0, size(relationships(p)) - 1) | {type: type(relationships(p)[k]), forward: startNode(relationships(p)[k]) = nodes(p)[k]}] AS relationships
ORDER BY [n IN nodes | n.id], [r IN relationships | r.type]
LIMIT $limit
UNION ALL
MATCH (t:Item {id: $item_id})-[]-(m:Entity)
WITH t, collect(DISTINCT m) AS near
UNWIND $ids AS sid
MATCH (s:Item {id: sid})-[]-(x:Item)-[]-(m:Entity)
WHERE m IN near AND s <> t AND x <> t AND x <> s
WITH DISTINCT s, x, m, t
MATCH p = (s)-[]-(x)-[]-(m)-[]-(t)
RETURN [n IN nodes(p) | {id: n.id, label: labels(n)[0], name: coalesce(n.name, n.title), type: n.type}] AS nodes,
       [k IN range(0, size(relationships(p)) - 1) | {type: type(relationships(p)[k]), forward: startNode(relationships(p)[k]) = nodes(p)[k]}] AS relationships
ORDER BY [n IN nodes | n.id], [r IN relationships | r.type]
LIMIT $limit
UNION ALL
MATCH (t:Item {id: $item_id})-[]-(x:Item)-[]-(m:Entity)
WITH t, collect(DISTINCT m) AS near
UNWIND $ids AS sid
MATCH (s:Item {id: sid})-[]-(m:Entity)
WHERE m IN near AND s <> t
WITH DISTINCT s, m, t
MATCH (t)-[]-(x:Item)-[]-(m)
WHERE x <> s
WITH DISTINCT s, m, x, t
MATCH p = (s)-[]-(m)-[]-(x)-[]-(t)
RETURN [n IN nodes(p) | {id: n.id, label: labels(n)[0], name: coalesce(n.name, n.title), type: n.type}] AS nodes,
       [k IN range(0, size(relationships(p)) - 1) | {type: type(relationships(p)[k]), forward: startNode(relationships(p)[k]) = nodes(p)[k]}] AS relationships
ORDER BY [n IN nodes | n.id], [r IN relationships | r.type]
LIMIT $limit
UNION ALL
MATCH (t:Item {id: $item_id})-[]-(x:Item)
WITH t, collect(DISTINCT x) AS near
UNWIND $ids AS sid
MATCH (s:Item {id: sid})-[]-(y:Item)-[]-(x:Item)
WHERE x IN near AND s <> t AND y <> t AND s <> x AND y <> x
WITH DISTINCT s, y, x, t
MATCH p = (s)-[]-(y)-[]-(x)-[]-(t)
RETURN [n IN nodes(p) | {id: n.id, label: labels(n)[0], name: coalesce(n.name, n.title), type: n.type}] AS nodes,
       [k IN range(0, size(relationships(p)) - 1) | {type: type(relationships(p)[k]), forward: startNode(relationships(p)[k]) = nodes(p)[k]}] AS relationships
ORDER BY [n IN nodes | n.id], [r IN relationships | r.type]
LIMIT $limit
