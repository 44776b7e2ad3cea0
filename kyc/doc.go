// Package kyc runs Sejam-style remote identity verification (e-KYC) inside
// a host application. The host keeps its transport (HTTP, gRPC, queues),
// accounts and UI; the SDK decides.
//
// # The ceremony
//
//	v, err := kyc.New(kyc.Config{Registry: ..., Mobiles: ..., Detector: ...,
//		Matcher: ..., Store: ..., Vault: ..., Locator: ..., OTP: ...})
//	el, err := v.Inquire(ctx, applicant)          // eligible? (nothing charged)
//	_, err = v.SendOTP(ctx, applicant)            // code by SMS
//	err = v.ConfirmOTP(ctx, nationalID, code)     // 5 tries, 2 minutes
//	s, err := v.Begin(ctx, applicant)             // challenge text, 3 minutes
//	d, err := v.Submit(ctx, s.ID, video)          // approved | rejected | review | locked
//	d, err = v.Review(ctx, d.AttemptID, kyc.ReviewInput{...}) // operator's final call
//
// Inquire applies the policy (policy.Policy): 18 or older in the Solar
// Hijri calendar (Tehran time), native citizen, alive, never verified
// remotely, not locked, connecting from Iran, no representative, mobile
// owned by the applicant and, from Begin on, confirmed by OTP.
//
// Submit spools the upload (size-capped), re-checks the policy, reserves
// the attempt atomically in the Store (recording the fee as pending in the
// same transaction), charges the fee and confirms it, runs the
// liveness.Detector and facematch.Matcher, decides with the policy, stores
// the encrypted video and decision record in the Vault and records the
// decision. Three failed uploads lock the national ID (in person only);
// one approval ends remote verification for that national ID forever.
//
// # Decisions and errors
//
// A "no" is data: a Decision (or Eligibility) with reason codes, each with
// a Persian and an English message and a hint (package reason). An error
// means the SDK could not decide — invalid input, an unusable video
// (ErrVideoRejected, whose Reason says what to tell the applicant), an
// unknown/expired/used session, a dependency failure (ErrDependency, with
// Dependency naming it) or a cancelled context — and such a failure never
// counts as an attempt. A reservation whose process died is abandoned when
// its lease (AttemptLease) expires and is not counted either. A fee
// recorded for an attempt that ends in an SDK error (or whose process
// died) is carried over to the applicant's next attempt; fees are never
// refunded. Because the fee is recorded before the Charger is called and
// the Charger is idempotent per Charge.ChargeID, a fee whose charging was
// interrupted is asked for again under the same ChargeID: an applicant
// never pays twice for one attempt that counted or was decided.
//
// # What the host persists and what the SDK keeps
//
// The host keeps its own account data and the IDs it gets back (session,
// attempt, evidence). The Store keeps applicant states, attempt counts,
// sessions, hashed OTPs, fees, decisions and the hash-chained audit log
// (VerifyAudit checks it). The Vault keeps, encrypted, the uploaded video
// and the decision record (scores, thresholds, model versions) for
// follow-up. The SDK keeps no face images, embeddings or templates beyond
// the video itself; matchers may cache a registry photo's template in
// memory only.
//
// # Concurrency
//
// A Verifier is safe for concurrent use. Submit bounds concurrent analyses
// with MaxConcurrent (more calls queue, honouring their contexts). Several
// processes may share one Store (PostgreSQL): attempt accounting is
// enforced by the database, not by locks in this process.
package kyc
