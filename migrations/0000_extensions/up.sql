-- 0000_extensions (up): hand-written
-- pg_trgm: trigram fuzzy search (seed 004); btree_gin: GIN indexes over scalar columns (seed 004).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;
