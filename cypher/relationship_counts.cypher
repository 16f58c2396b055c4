// Schema and counts: how many relationships of each type, between which labels.
MATCH (h)-[r]->(t)
RETURN labels(h)[0] AS from_label, type(r) AS type, labels(t)[0] AS to_label, count(*) AS count
ORDER BY count DESC, type
