// Package sqlstore is the database/sql engine behind store/sqlite and
// store/postgres: one implementation of kyc.Store, parameterised by a
// small Dialect (placeholders, row locking, time encoding, transient and
// unique-violation errors, embedded migrations and the migration lock).
// Hosts normally call sqlite.Open or postgres.Open; New is for a backend
// of their own.
//
// # Tables
//
//	applicants   one row per national ID: state, failed count, the in-flight
//	             slot (attempt + lease), the review slot
//	sessions     single-use sessions (used_at set by the reservation)
//	attempts     one row per upload attempt; unique id and session_id;
//	             partial unique indexes: one 'reserved' attempt and one
//	             first-time 'approved' attempt per national ID
//	charges      one fee per attempt (unique attempt_id), inserted pending
//	             (ref '') with the reservation and confirmed (ref,
//	             confirmed_at) once charged; moved, pending or confirmed,
//	             to the next attempt when its attempt is void or abandoned
//	otps         the current OTP per national ID (hash and salt only)
//	rep_docs     representative documents
//	audit        the hash-chained audit log (seq without gaps)
//	audit_head   one row: the last seq and hash, locked by every append
//	schema_migrations  applied migration versions
//
// # Transactions
//
// Every step is one transaction that locks what it reads before deciding
// (SELECT ... FOR UPDATE on PostgreSQL; SQLite transactions begin
// IMMEDIATE and hold the database write lock), writes with conditional
// UPDATEs that re-check the invariant in the database, and appends its
// audit event before committing. Locks are taken in one order (session,
// applicant, attempts, charges, audit head). A transaction that fails with
// a transient error is run again from the start, a bounded number of
// times with jittered back-off, and never after its context ends.
//
// Times are stored in UTC at microsecond precision; enums through the kyc
// types' Scanner and Valuer (an unknown stored value is an error); reason
// codes as a JSON array of catalogued codes.
package sqlstore
