// Package reliability holds the project's reliability, security and scale
// scenarios as Go tests: registry faults at the Verifier level, PostgreSQL
// restarted under load, a process killed in the middle of Submit, replicas
// sharing one PostgreSQL, load and memory with the real vision pipeline,
// and the security checks. docs/RELIABILITY.md reports their figures and
// the commands that reproduce them.
//
// The tests run in `make test` in a bounded time. The heavy variants are
// switched on by environment variables:
//
//	HOVIYAT_RELIABILITY_FULL=1   full-size load and memory runs
//	HOVIYAT_RELIABILITY_OUT=DIR  append every scenario's figures as JSON
//	                             lines to DIR/figures.jsonl
//
// Scenarios that need PostgreSQL start their own throw-away server
// (scripts/pg.sh with HOVIYAT_PG_PORT and HOVIYAT_PG_DIR set to private
// values) when they restart it, so the shared test server is never
// disturbed; the others use HOVIYAT_PG_DSN, like the rest of the tests.
//
// Child processes (the crash and replica scenarios) are the test binary
// itself, re-executed in a helper mode selected by an environment variable
// (the os/exec pattern of the standard library's tests), and the
// examples/brokerage server built from source.
//
// Nothing here is imported by the SDK.
package reliability
