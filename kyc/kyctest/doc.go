// Package kyctest is the harness a host application uses in its own tests
// of code built on kyc, like net/http/httptest: fakes of every dependency
// (civil registry and mobile ownership, liveness detector, face matcher,
// OTP sender, charger, GeoIP locator, vault, clock), each a real,
// concurrency-safe implementation with fault injection, and scenario
// helpers that walk the ceremony.
//
// Fake videos are made with Video (or LiveVideo): their bytes say what the
// fake Detector should see (a live face of some identity, a spoof, bad
// quality, a corrupt file), and the fake Matcher compares that identity
// with the fake registry photo (Photo). Import it only from tests.
package kyctest
