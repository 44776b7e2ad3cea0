package main

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/reason"
)

// apiError is the JSON error every API endpoint returns:
//
//	{"error": {"code": "video_rejected", "message": "...",
//	           "reason": "video_too_short", "reasons": [...],
//	           "messages": {"fa": [{code, text, hint}], "en": [...]},
//	           "retry_after_seconds": 3}}
//
// code is a kyc.ErrorCode or one of the server's own (bad_request,
// unsupported_media_type, missing_field, payload_too_large,
// rate_limited, unauthorized, not_found, method_not_allowed, internal).
// messages holds the catalogue texts of reason/reasons in Persian and
// English when there are any.
type apiError struct {
	Status     int           `json:"-"`
	Code       string        `json:"code"`
	Message    string        `json:"message"`
	Reason     reason.Code   `json:"reason,omitempty"`
	Reasons    []reason.Code `json:"reasons,omitempty"`
	Messages   *messagesJSON `json:"messages,omitempty"`
	Dependency string        `json:"dependency,omitempty"`
	RetryAfter int           `json:"retry_after_seconds,omitempty"`
}

// messagesJSON is reason texts in both languages.
type messagesJSON struct {
	FA []kyc.Message `json:"fa"`
	EN []kyc.Message `json:"en"`
}

func messagesOf(codes []reason.Code) *messagesJSON {
	if len(codes) == 0 {
		return nil
	}
	m := &messagesJSON{FA: make([]kyc.Message, 0, len(codes)), EN: make([]kyc.Message, 0, len(codes))}
	for _, c := range codes {
		m.FA = append(m.FA, kyc.Message{Code: c, Text: c.Message(reason.Persian), Hint: c.Hint(reason.Persian)})
		m.EN = append(m.EN, kyc.Message{Code: c, Text: c.Message(reason.English), Hint: c.Hint(reason.English)})
	}
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, e apiError) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Messages == nil {
		codes := e.Reasons
		if len(codes) == 0 && e.Reason != "" {
			codes = []reason.Code{e.Reason}
		}
		e.Messages = messagesOf(codes)
	}
	writeJSON(w, e.Status, map[string]apiError{"error": e})
}

func rateLimited(wait time.Duration) apiError {
	secs := int(math.Ceil(wait.Seconds()))
	return apiError{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "too many requests; slow down",
		RetryAfter: max(secs, 1)}
}

func badRequest(code, msg string) apiError {
	return apiError{Status: http.StatusBadRequest, Code: code, Message: msg}
}

// kycStatus maps SDK error codes to HTTP statuses.
var kycStatus = map[kyc.ErrorCode]int{
	kyc.CodeInvalidInput:      http.StatusBadRequest,
	kyc.CodeSessionNotFound:   http.StatusNotFound,
	kyc.CodeAttemptNotFound:   http.StatusNotFound,
	kyc.CodeDocumentNotFound:  http.StatusNotFound,
	kyc.CodeOTPNotFound:       http.StatusNotFound,
	kyc.CodeSessionExpired:    http.StatusGone,
	kyc.CodeOTPExpired:        http.StatusGone,
	kyc.CodeSessionUsed:       http.StatusConflict,
	kyc.CodeAttemptInProgress: http.StatusConflict,
	kyc.CodeNotInReview:       http.StatusConflict,
	kyc.CodeLeaseLost:         http.StatusConflict,
	kyc.CodeAlreadyVerified:   http.StatusConflict,
	kyc.CodeInReview:          http.StatusConflict,
	kyc.CodeDocumentApproved:  http.StatusConflict,
	kyc.CodeDocumentPending:   http.StatusConflict,
	kyc.CodeLocked:            http.StatusForbidden,
	kyc.CodeAttemptsExhausted: http.StatusForbidden,
	kyc.CodeNotEligible:       http.StatusForbidden,
	kyc.CodeOTPMismatch:       http.StatusUnprocessableEntity,
	kyc.CodeOTPTooManyTries:   http.StatusTooManyRequests,
	kyc.CodeOTPResendTooSoon:  http.StatusTooManyRequests,
	kyc.CodeVideoRejected:     http.StatusUnprocessableEntity,
	kyc.CodeCharge:            http.StatusPaymentRequired,
	kyc.CodeDependency:        http.StatusServiceUnavailable,
	kyc.CodeClosed:            http.StatusServiceUnavailable,
	kyc.CodeInternal:          http.StatusInternalServerError,
}

// fromError turns an SDK error into the API error. Client errors carry
// the SDK's short message (never its wrapped cause, which may name
// internals); server errors a generic one.
func fromError(err error) apiError {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge()
	}
	var ke *kyc.Error
	if !errors.As(err, &ke) {
		return apiError{Status: http.StatusInternalServerError, Code: string(kyc.CodeInternal), Message: "internal error"}
	}
	st, ok := kycStatus[ke.Code]
	if !ok {
		st = http.StatusInternalServerError
	}
	e := apiError{Status: st, Code: string(ke.Code), Message: ke.Msg, Reason: ke.Reason, Reasons: ke.Reasons}
	switch {
	case ke.Code == kyc.CodeVideoRejected && ke.Reason == reason.VideoTooLarge:
		e.Status = http.StatusRequestEntityTooLarge
	case ke.Code == kyc.CodeDependency:
		e.Dependency = ke.Dependency
		e.Message = "a service the verification depends on is unavailable; try again later"
		e.RetryAfter = 5
	case st >= 500:
		e.Message = "internal error"
	}
	if e.Message == "" {
		e.Message = string(ke.Code)
	}
	return e
}

func tooLarge() apiError {
	return apiError{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large",
		Message: "the upload is larger than allowed", Reason: reason.VideoTooLarge}
}
