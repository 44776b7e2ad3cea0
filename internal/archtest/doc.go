// Package archtest holds tests of the module's architecture: the core
// packages stay pure Go so that hosts can build them without cgo.
package archtest
