-- Hoviyat store schema, PostgreSQL. Times are timestamptz (microseconds,
-- UTC on the way in and out). Enum columns are checked here and again
-- when read. Constraint names are stable: the store maps unique
-- violations by name.

CREATE TABLE applicants (
	national_id text PRIMARY KEY,
	state text NOT NULL CONSTRAINT applicants_state_check CHECK (state IN ('active', 'review', 'verified', 'locked')),
	failed_attempts integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
	inflight_attempt text,
	inflight_lease_until timestamptz,
	review_attempt text,
	verified_at timestamptz,
	locked_at timestamptz,
	updated_at timestamptz NOT NULL,
	CHECK ((inflight_attempt IS NULL) = (inflight_lease_until IS NULL))
);

CREATE TABLE otps (
	national_id text PRIMARY KEY,
	mobile text NOT NULL,
	hash bytea NOT NULL,
	salt bytea NOT NULL,
	expires_at timestamptz NOT NULL,
	tries integer NOT NULL CHECK (tries >= 0),
	max_tries integer NOT NULL,
	confirmed_at timestamptz,
	created_at timestamptz
);

CREATE TABLE sessions (
	id text PRIMARY KEY,
	national_id text NOT NULL,
	challenge text NOT NULL,
	nonce text NOT NULL,
	head_turn text NOT NULL,
	birth_date text NOT NULL,
	mobile text NOT NULL,
	ip text NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at timestamptz
);

CREATE TABLE attempts (
	seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id text NOT NULL CONSTRAINT attempts_id_unique UNIQUE,
	national_id text NOT NULL REFERENCES applicants (national_id),
	session_id text NOT NULL CONSTRAINT attempts_session_unique UNIQUE REFERENCES sessions (id),
	state text NOT NULL CONSTRAINT attempts_state_check CHECK (state IN ('reserved', 'decided', 'void', 'abandoned')),
	outcome text CONSTRAINT attempts_outcome_check CHECK (outcome IN ('approved', 'rejected', 'review', 'locked')),
	reasons text,
	counted boolean NOT NULL DEFAULT false,
	reverification boolean NOT NULL DEFAULT false,
	lease_until timestamptz NOT NULL,
	evidence_id text,
	decision bytea,
	void_cause text,
	created_at timestamptz NOT NULL,
	decided_at timestamptz,
	review_operator text,
	review_approved boolean,
	review_note text,
	review_at timestamptz,
	CONSTRAINT attempts_decided_check CHECK ((state = 'decided') = (outcome IS NOT NULL))
);
-- One in-flight attempt per national ID.
CREATE UNIQUE INDEX attempts_one_reserved ON attempts (national_id) WHERE state = 'reserved';
-- One first-time approval per national ID (reverifications are flagged).
CREATE UNIQUE INDEX attempts_one_approval ON attempts (national_id) WHERE outcome = 'approved' AND NOT reverification;
CREATE INDEX attempts_by_national_id ON attempts (national_id, created_at, seq);
CREATE INDEX attempts_reviews ON attempts (decided_at, seq) WHERE outcome = 'review';

CREATE TABLE charges (
	id text PRIMARY KEY,
	national_id text NOT NULL,
	attempt_id text NOT NULL CONSTRAINT charges_attempt_unique UNIQUE REFERENCES attempts (id),
	amount bigint NOT NULL,
	currency text NOT NULL,
	ref text NOT NULL,
	created_at timestamptz NOT NULL
);
CREATE INDEX charges_by_national_id ON charges (national_id);

CREATE TABLE rep_docs (
	id text PRIMARY KEY,
	national_id text NOT NULL,
	kind text NOT NULL CHECK (kind IN ('guardian', 'custodian', 'attorney')),
	doc_type text NOT NULL,
	expires_at timestamptz,
	evidence_id text NOT NULL,
	state text NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
	operator_id text,
	note text,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);
CREATE INDEX rep_docs_by_national_id ON rep_docs (national_id, created_at);

CREATE TABLE audit (
	seq bigint PRIMARY KEY,
	at timestamptz NOT NULL,
	kind text NOT NULL,
	national_id text NOT NULL,
	session_id text NOT NULL,
	attempt_id text NOT NULL,
	actor text NOT NULL,
	data bytea,
	prev_hash bytea,
	hash bytea NOT NULL
);

CREATE TABLE audit_head (
	id integer PRIMARY KEY CHECK (id = 1),
	seq bigint NOT NULL,
	hash bytea
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, NULL);
