// Snapshot export, one page of knowledge-graph relationships (everything but INTERACTED). $skip: int, $limit: int
MATCH (h)-[r]->(t)
WHERE type(r) <> 'INTERACTED'
RETURN labels(h)[0] AS head_label, h.id AS head, type(r) AS relation,
       labels(t)[0] AS tail_label, t.id AS tail, r.weight AS weight
ORDER BY head_label, head, relation, tail_label, tail
SKIP $skip LIMIT $limit
