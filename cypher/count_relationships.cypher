// How many relationships of one type (__RELATION__ is a validated identifier filled in by the code).
MATCH ()-[r:__RELATION__]->()
RETURN count(r) AS count
