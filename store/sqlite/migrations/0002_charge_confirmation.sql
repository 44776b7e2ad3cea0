-- Fees are recorded before they are charged: a charge row is inserted
-- pending (ref '') with the attempt's reservation, and confirmed once the
-- Charger has answered (ref and confirmed_at set). Rows written before
-- this migration were inserted after charging: they count as confirmed at
-- their creation. Backward compatible: an older build still inserts
-- confirmed rows (with confirmed_at NULL, which this build accepts).

ALTER TABLE charges ADD COLUMN confirmed_at INTEGER CHECK (confirmed_at IS NULL OR ref <> '');
UPDATE charges SET confirmed_at = created_at WHERE ref <> '';
