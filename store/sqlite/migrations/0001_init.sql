-- Hoviyat store schema, SQLite. Times are INTEGER microseconds since the
-- Unix epoch (UTC); NULL is "not set". Booleans are 0/1. Enum columns are
-- checked here and again when read.

CREATE TABLE applicants (
	national_id TEXT PRIMARY KEY,
	state TEXT NOT NULL CHECK (state IN ('active', 'review', 'verified', 'locked')),
	failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
	inflight_attempt TEXT,
	inflight_lease_until INTEGER,
	review_attempt TEXT,
	verified_at INTEGER,
	locked_at INTEGER,
	updated_at INTEGER NOT NULL,
	CHECK ((inflight_attempt IS NULL) = (inflight_lease_until IS NULL))
) STRICT;

CREATE TABLE otps (
	national_id TEXT PRIMARY KEY,
	mobile TEXT NOT NULL,
	hash BLOB NOT NULL,
	salt BLOB NOT NULL,
	expires_at INTEGER NOT NULL,
	tries INTEGER NOT NULL CHECK (tries >= 0),
	max_tries INTEGER NOT NULL,
	confirmed_at INTEGER,
	created_at INTEGER
) STRICT;

CREATE TABLE sessions (
	id TEXT PRIMARY KEY,
	national_id TEXT NOT NULL,
	challenge TEXT NOT NULL,
	nonce TEXT NOT NULL,
	head_turn TEXT NOT NULL,
	birth_date TEXT NOT NULL,
	mobile TEXT NOT NULL,
	ip TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at INTEGER
) STRICT;

CREATE TABLE attempts (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	id TEXT NOT NULL UNIQUE,
	national_id TEXT NOT NULL REFERENCES applicants (national_id),
	session_id TEXT NOT NULL UNIQUE REFERENCES sessions (id),
	state TEXT NOT NULL CHECK (state IN ('reserved', 'decided', 'void', 'abandoned')),
	outcome TEXT CHECK (outcome IN ('approved', 'rejected', 'review', 'locked')),
	reasons TEXT,
	counted INTEGER NOT NULL DEFAULT 0 CHECK (counted IN (0, 1)),
	reverification INTEGER NOT NULL DEFAULT 0 CHECK (reverification IN (0, 1)),
	lease_until INTEGER NOT NULL,
	evidence_id TEXT,
	decision BLOB,
	void_cause TEXT,
	created_at INTEGER NOT NULL,
	decided_at INTEGER,
	review_operator TEXT,
	review_approved INTEGER CHECK (review_approved IN (0, 1)),
	review_note TEXT,
	review_at INTEGER,
	CHECK ((state = 'decided') = (outcome IS NOT NULL))
) STRICT;
-- One in-flight attempt per national ID.
CREATE UNIQUE INDEX attempts_one_reserved ON attempts (national_id) WHERE state = 'reserved';
-- One first-time approval per national ID (reverifications are flagged).
CREATE UNIQUE INDEX attempts_one_approval ON attempts (national_id) WHERE outcome = 'approved' AND reverification = 0;
CREATE INDEX attempts_by_national_id ON attempts (national_id, created_at, seq);
CREATE INDEX attempts_reviews ON attempts (decided_at, seq) WHERE outcome = 'review';

CREATE TABLE charges (
	id TEXT PRIMARY KEY,
	national_id TEXT NOT NULL,
	attempt_id TEXT NOT NULL UNIQUE REFERENCES attempts (id),
	amount INTEGER NOT NULL,
	currency TEXT NOT NULL,
	ref TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX charges_by_national_id ON charges (national_id);

CREATE TABLE rep_docs (
	id TEXT PRIMARY KEY,
	national_id TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('guardian', 'custodian', 'attorney')),
	doc_type TEXT NOT NULL,
	expires_at INTEGER,
	evidence_id TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
	operator_id TEXT,
	note TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX rep_docs_by_national_id ON rep_docs (national_id, created_at);

CREATE TABLE audit (
	seq INTEGER PRIMARY KEY,
	at INTEGER NOT NULL,
	kind TEXT NOT NULL,
	national_id TEXT NOT NULL,
	session_id TEXT NOT NULL,
	attempt_id TEXT NOT NULL,
	actor TEXT NOT NULL,
	data BLOB,
	prev_hash BLOB,
	hash BLOB NOT NULL
) STRICT;

CREATE TABLE audit_head (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	seq INTEGER NOT NULL,
	hash BLOB
) STRICT;
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, NULL);
