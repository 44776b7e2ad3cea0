// Package store holds the implementations of kyc.Store, the interface the
// Verifier persists the ceremony through. It has no code of its own; pick a
// backend:
//
//   - store/sqlite: the embedded default, one SQLite file (pure Go, no cgo),
//     usable from several processes on one machine.
//   - store/postgres: one PostgreSQL database shared by several replicas of
//     the host application.
//   - store/memory: in memory, for tests.
//
// The two SQL backends share one engine, store/sqlstore, and enforce the
// attempt invariants (one in-flight attempt per national ID, a session
// reserves once, the failed count never exceeds the limit, approved at
// most once) with transactions, row locks and unique constraints in the
// database, never with in-process locks, so replicas need no other
// coordination. store/storetest is the conformance suite any Store
// implementation can run.
package store
