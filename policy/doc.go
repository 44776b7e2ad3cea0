// Package policy is the Sejam rule set for remote identity verification:
// who may verify remotely, and how the measurements of one video become an
// outcome.
//
// Compile once, evaluate many: New validates and copies a Config (zero
// fields mean the documented defaults: 18+ in full Solar Hijri years with
// "today" in Asia/Tehran, native citizens only, alive, no representative,
// once per national ID, at most 3 failed uploads then a lock, access from
// Iran only with unknown locations refused, mobile owned by the applicant,
// OTP confirmed before a session begins). The resulting *Policy is
// immutable and safe for concurrent use.
//
// The flow, as kyc.Verifier drives it:
//
//  1. Before anything is charged, the Verifier gathers Facts (registry
//     record, representative, the IP's country from policy/geoip, mobile
//     ownership, OTP state, the national ID's state in the store) and
//     calls Evaluate. A refusal is a Verdict with reason codes, never an
//     error; InPersonRequired says whether the applicant must go to a
//     service centre.
//  2. After the upload, the liveness detector and face matcher produce
//     Evidence, and Decide turns it into a Judgement: Approved, Rejected
//     (with reasons; Counted when it uses up an upload), Review (an
//     operator decides) or Locked (the last allowed upload failed).
//
// Ages are computed by Age with the Esfand-30 rule documented there. The
// Solar Hijri conversion and leap-year rule come from
// github.com/jalaali/go-jalaali, the library registry.Date also uses, rather
// than being written here.
//
// Outcome values are persisted; they implement sql.Scanner, driver.Valuer
// and JSON, and an unknown value is always an error.
package policy
