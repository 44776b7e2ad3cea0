// Package httpreg is a JSON-over-HTTP client for a civil registry and a
// mobile-ownership service. A Client implements both
// registry.CivilRegistry and registry.MobileOwnership with a timeout per
// attempt, retries with exponential backoff and full jitter, and a circuit
// breaker per dependency. Every failure is a *registry.Error naming the
// dependency and the kind of failure.
//
// # Wire protocol (version 1)
//
// Both calls are POST with a JSON body ("Content-Type: application/json")
// and answer JSON. Identifiers travel in canonical form (10-digit national
// ID, "09xxxxxxxxx" mobile); dates are Solar Hijri "YYYY/MM/DD".
//
//	POST {BaseURL}/v1/civil/lookup
//	{"national_id": "0499370899", "birth_date": "1370/01/15"}
//
//	200 {"national_id": "0499370899", "first_name": "سارا", "last_name": "احمدی",
//	     "father_name": "رضا", "gender": "female", "birth_date": "1370/01/15",
//	     "alive": true, "native": true, "photo": "<standard base64 of JPEG or PNG>"}
//	404 {"error": "not_found"}   no person with that ID and birth date
//
//	POST {MobileBaseURL}/v1/mobile/ownership
//	{"national_id": "0499370899", "mobile": "09121234567"}
//
//	200 {"owned": true}
//
// Any other answer is an error body {"error": "<code>", "message": "..."}
// (message optional) with a 4xx or 5xx status.
//
// The client decodes strictly: the 200 bodies must have exactly the keys
// above (exact case, none unknown, none repeated, no trailing data;
// "father_name" and "photo" may be omitted, the others are required and
// never null); "gender" is "male" or "female"; the returned national_id and
// birth_date must equal the ones asked for; a photo must be JPEG or PNG.
// New fields come with a new path version, not in /v1. A 404 counts as
// "not found" only with the {"error": "not_found"} body: a bare 404 from a
// mis-routed proxy is a status error, so a configuration mistake never
// tells an applicant that their national ID does not exist.
//
// # Failures, retries and the breaker
//
//	kind          when                                         retried  breaker
//	timeout       an attempt exceeded Config.Timeout            yes      failure
//	network       connection refused/reset, EOF, auth hook      yes*     failure*
//	status        5xx                                          yes      failure
//	status        4xx other than the not_found 404             no       success
//	malformed     bad JSON, wrong content type, body too big    no       failure
//	not_found     404 {"error":"not_found"} (lookup only)       no       success
//	canceled      the caller's ctx was cancelled                no       -
//	timeout       the caller's ctx deadline passed               no       -
//	circuit_open  the breaker refused the call                  no       -
//
// (*) An error from Config.Authorize is reported as kind network and is
// neither retried nor counted by the breaker: the registry was not asked.
//
// Malformed answers are not retried: a server that sends garbage usually
// sends it again, and retrying multiplies the load on a sick dependency.
// Retrying is safe because both calls only read. 429 is a 4xx and is not
// retried; the breaker is what sheds load.
//
// Each HTTP attempt is one sample for the breaker of its dependency. After
// Config.BreakerThreshold consecutive failures the breaker opens and calls
// fail at once with kind circuit_open, without touching the network. After
// Config.BreakerCooldown it lets one probe through (half-open); a success
// closes it, a failure opens it for another cool-down. Results of attempts
// that started before the breaker changed state are ignored.
//
// The caller's deadline always wins: an attempt never outlives ctx, a
// cancelled ctx stops the retry loop at once (also during a backoff
// sleep), and a backoff sleep that would end after the deadline is not
// started.
package httpreg
