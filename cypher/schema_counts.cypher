// Schema and counts: how many nodes carry each label.
MATCH (n)
RETURN labels(n)[0] AS label, count(*) AS count
ORDER BY label
