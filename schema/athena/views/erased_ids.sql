-- erased_ids: one row per erased id (a user, or a visitor id erased with
-- one), with the stream time of its latest erasure. Rows of the id streamed
-- up to then are excluded by the *_unique views; an id used again after its
-- erasure is someone new to refx, and their new rows are kept.
CREATE OR REPLACE VIEW erased_ids AS
SELECT user_hash, max(streamed_at) AS erased_through
FROM erasures
GROUP BY user_hash
