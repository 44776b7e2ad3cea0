// Package registry holds the identifiers an applicant gives (national ID,
// mobile number, Solar Hijri birth date) and the interfaces of the outside
// registries the SDK asks about them: the civil registry (person record and
// photo) and mobile ownership (Shahkar-style).
//
// Adapters live in subpackages named after their backend: registry/memory
// (fixtures), registry/httpreg (JSON over HTTP with timeouts, retries and a
// circuit breaker) and registry/registrytest (a conformance suite and a
// fixture HTTP server for adapter authors).
//
// Identifiers are normalised at this boundary: Persian and Arabic-Indic
// digits become ASCII, separators are stripped, and the stored form is the
// canonical one (10-digit national ID, "09xxxxxxxxx" mobile).
package registry
