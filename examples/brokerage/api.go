package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/reason"
	"github.com/hoviyat/hoviyat/registry"
)

// maxJSONBody caps JSON request bodies.
const maxJSONBody = 16 << 10

// multipartSlack is what the upload cap allows on top of the video for
// the multipart envelope (boundaries, headers, small fields).
const multipartSlack = 64 << 10

// decodeJSON reads one JSON object of at most maxJSONBody bytes into dst,
// refusing unknown fields and trailing data.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) *apiError {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "send application/json"}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			e := tooLarge()
			e.Reason = ""
			return &e
		}
		e := badRequest("bad_request", "malformed JSON body: "+jsonProblem(err))
		return &e
	}
	if dec.More() {
		e := badRequest("bad_request", "malformed JSON body: trailing data")
		return &e
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	case errors.Is(err, io.EOF):
		return "empty body"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "invalid JSON"
}

// applicantRequest is the body of inquiry, OTP and session requests.
type applicantRequest struct {
	NationalID string `json:"national_id"`
	// BirthDate in the Solar Hijri calendar, "1370/01/15" (Persian digits
	// allowed).
	BirthDate string `json:"birth_date"`
	Mobile    string `json:"mobile"`
}

// applicant validates the request into a kyc.Applicant with the client's
// IP and the canonical national ID (the rate-limit key).
func (s *Server) applicant(r *http.Request, req applicantRequest) (kyc.Applicant, registry.NationalID, *apiError) {
	missing := []string{}
	if strings.TrimSpace(req.NationalID) == "" {
		missing = append(missing, "national_id")
	}
	if strings.TrimSpace(req.BirthDate) == "" {
		missing = append(missing, "birth_date")
	}
	if strings.TrimSpace(req.Mobile) == "" {
		missing = append(missing, "mobile")
	}
	if len(missing) > 0 {
		e := badRequest("missing_field", "required: "+strings.Join(missing, ", "))
		return kyc.Applicant{}, "", &e
	}
	id, err := registry.ParseNationalID(req.NationalID)
	if err != nil {
		e := badRequest(string(kyc.CodeInvalidInput), "invalid national_id: "+problemOf(err))
		return kyc.Applicant{}, "", &e
	}
	birth, err := registry.ParseDate(req.BirthDate)
	if err == nil {
		err = birth.Validate()
	}
	if err != nil {
		e := badRequest(string(kyc.CodeInvalidInput), "invalid birth_date: want a Solar Hijri date such as 1370/01/15")
		return kyc.Applicant{}, "", &e
	}
	if _, err := registry.ParseMobile(req.Mobile); err != nil {
		e := badRequest(string(kyc.CodeInvalidInput), "invalid mobile: "+problemOf(err))
		return kyc.Applicant{}, "", &e
	}
	return kyc.Applicant{NationalID: string(id), BirthDate: birth, Mobile: req.Mobile, IP: s.clientIP(r)}, id, nil
}

// problemOf is the parse problem of a registry.ParseError (which never
// contains the input).
func problemOf(err error) string {
	var pe *registry.ParseError
	if errors.As(err, &pe) {
		return string(pe.Problem)
	}
	return "malformed"
}

// eligibilityJSON is the answer of POST /api/inquiry.
type eligibilityJSON struct {
	Eligible         bool               `json:"eligible"`
	Reasons          []reason.Code      `json:"reasons"`
	Messages         *messagesJSON      `json:"messages,omitempty"`
	InPersonRequired bool               `json:"in_person_required"`
	AttemptsLeft     int                `json:"attempts_left"`
	State            kyc.ApplicantState `json:"state"`
	FirstName        string             `json:"first_name,omitempty"`
	LastName         string             `json:"last_name,omitempty"`
}

func (s *Server) handleInquiry(w http.ResponseWriter, r *http.Request) {
	var req applicantRequest
	if e := decodeJSON(w, r, &req); e != nil {
		writeError(w, *e)
		return
	}
	a, id, e := s.applicant(r, req)
	if e != nil {
		writeError(w, *e)
		return
	}
	if !s.allowNationalID(w, string(id)) {
		return
	}
	el, err := s.cfg.Verifier.Inquire(r.Context(), a)
	if err != nil {
		s.fail(w, r, "inquiry", id, err)
		return
	}
	s.log.InfoContext(r.Context(), "inquiry", "national_id", id.Masked(), "eligible", el.Eligible, "reasons", codes(el.Reasons))
	writeJSON(w, http.StatusOK, eligibilityJSON{
		Eligible: el.Eligible, Reasons: nonNil(el.Reasons), Messages: messagesOf(el.Reasons),
		InPersonRequired: el.InPersonRequired, AttemptsLeft: el.AttemptsLeft, State: el.State,
		FirstName: el.FirstName, LastName: el.LastName,
	})
}

func (s *Server) handleSendOTP(w http.ResponseWriter, r *http.Request) {
	var req applicantRequest
	if e := decodeJSON(w, r, &req); e != nil {
		writeError(w, *e)
		return
	}
	a, id, e := s.applicant(r, req)
	if e != nil {
		writeError(w, *e)
		return
	}
	if !s.allowNationalID(w, string(id)) {
		return
	}
	t, err := s.cfg.Verifier.SendOTP(r.Context(), a)
	if err != nil {
		s.fail(w, r, "otp_send", id, err)
		return
	}
	s.log.InfoContext(r.Context(), "otp sent", "national_id", id.Masked(), "mobile", t.Mobile)
	writeJSON(w, http.StatusOK, map[string]any{"mobile": t.Mobile, "expires_at": t.ExpiresAt})
}

// confirmRequest is the body of POST /api/otp/confirm.
type confirmRequest struct {
	NationalID string `json:"national_id"`
	Code       string `json:"code"`
}

func (s *Server) handleConfirmOTP(w http.ResponseWriter, r *http.Request) {
	var req confirmRequest
	if e := decodeJSON(w, r, &req); e != nil {
		writeError(w, *e)
		return
	}
	if strings.TrimSpace(req.NationalID) == "" || strings.TrimSpace(req.Code) == "" {
		writeError(w, badRequest("missing_field", "required: national_id, code"))
		return
	}
	id, err := registry.ParseNationalID(req.NationalID)
	if err != nil {
		writeError(w, badRequest(string(kyc.CodeInvalidInput), "invalid national_id: "+problemOf(err)))
		return
	}
	if !s.allowNationalID(w, string(id)) {
		return
	}
	if err := s.cfg.Verifier.ConfirmOTP(r.Context(), string(id), req.Code); err != nil {
		s.fail(w, r, "otp_confirm", id, err)
		return
	}
	s.log.InfoContext(r.Context(), "otp confirmed", "national_id", id.Masked())
	writeJSON(w, http.StatusOK, map[string]bool{"confirmed": true})
}

// sessionJSON is the answer of POST /api/sessions.
type sessionJSON struct {
	SessionID      string    `json:"session_id"`
	Challenge      string    `json:"challenge"`
	HeadTurn       string    `json:"head_turn,omitempty"`
	ExpiresAt      time.Time `json:"expires_at"`
	AttemptsLeft   int       `json:"attempts_left"`
	RecordSeconds  int       `json:"record_seconds"`
	MaxUploadBytes int64     `json:"max_upload_bytes"`
	UploadURL      string    `json:"upload_url"`
}

func (s *Server) handleBegin(w http.ResponseWriter, r *http.Request) {
	var req applicantRequest
	if e := decodeJSON(w, r, &req); e != nil {
		writeError(w, *e)
		return
	}
	a, id, e := s.applicant(r, req)
	if e != nil {
		writeError(w, *e)
		return
	}
	if !s.allowNationalID(w, string(id)) {
		return
	}
	ses, err := s.cfg.Verifier.Begin(r.Context(), a)
	if err != nil {
		s.fail(w, r, "begin", id, err)
		return
	}
	s.log.InfoContext(r.Context(), "session begun", "national_id", id.Masked(), "session", ses.ID,
		"expires_at", ses.ExpiresAt, "head_turn", ses.HeadTurn)
	writeJSON(w, http.StatusCreated, sessionJSON{
		SessionID: ses.ID, Challenge: ses.Challenge, HeadTurn: ses.HeadTurn, ExpiresAt: ses.ExpiresAt,
		AttemptsLeft: ses.AttemptsLeft, RecordSeconds: s.cfg.RecordSeconds, MaxUploadBytes: s.cfg.MaxUploadBytes,
		UploadURL: "/api/sessions/" + ses.ID + "/video",
	})
}

// decisionJSON is the applicant's view of a decision: outcome, reasons
// with their texts, and attempts. Scores stay with the operator (an
// applicant-facing score would help tune an attack).
type decisionJSON struct {
	AttemptID        string        `json:"attempt_id,omitempty"`
	SessionID        string        `json:"session_id,omitempty"`
	Outcome          kyc.Outcome   `json:"outcome"`
	Reasons          []reason.Code `json:"reasons"`
	Messages         *messagesJSON `json:"messages,omitempty"`
	Counted          bool          `json:"counted"`
	InPersonRequired bool          `json:"in_person_required"`
	AttemptsUsed     int           `json:"attempts_used"`
	AttemptsLeft     int           `json:"attempts_left"`
	// CanRetry: the applicant may record again (a new session).
	CanRetry  bool      `json:"can_retry"`
	DecidedAt time.Time `json:"decided_at"`
}

func applicantDecision(d kyc.Decision) decisionJSON {
	return decisionJSON{
		AttemptID: d.AttemptID, SessionID: d.SessionID, Outcome: d.Outcome, Reasons: nonNil(d.Reasons),
		Messages: messagesOf(d.Reasons), Counted: d.Counted, InPersonRequired: d.InPersonRequired,
		AttemptsUsed: d.AttemptsUsed, AttemptsLeft: d.AttemptsLeft,
		CanRetry:  d.Outcome == kyc.Rejected && d.AttemptsLeft > 0 && !d.InPersonRequired,
		DecidedAt: d.DecidedAt,
	}
}

// handleUpload streams the multipart field "video" into Verifier.Submit:
// the body is read part by part (mime/multipart.Reader), never buffered
// whole, and capped by http.MaxBytesReader; the SDK spools it to a
// private temp file with its own cap.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	s.metrics.uploads.Inc()
	defer s.metrics.uploads.Dec()
	sessionID := r.PathValue("id")
	limit := s.cfg.MaxUploadBytes + multipartSlack
	if r.ContentLength > limit {
		writeError(w, tooLarge())
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		writeError(w, apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "send multipart/form-data with the video in the field \"video\""})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, badRequest("bad_request", "malformed multipart body"))
		return
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			if errors.Is(err, io.EOF) {
				writeError(w, badRequest("missing_field", "required: the multipart field \"video\""))
				return
			}
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeError(w, tooLarge())
				return
			}
			writeError(w, badRequest("bad_request", "malformed multipart body"))
			return
		}
		if part.FormName() != "video" {
			// Other fields are not used; skip them (bounded by the cap).
			_, _ = io.Copy(io.Discard, part)
			part.Close()
			continue
		}
		d, err := s.cfg.Verifier.Submit(r.Context(), sessionID, part, kyc.WithClientIP(s.clientIP(r)))
		part.Close()
		if err != nil {
			s.failUpload(w, r, sessionID, err)
			return
		}
		nid := registry.NationalID(d.NationalID)
		s.log.InfoContext(r.Context(), "decision", "national_id", nid.Masked(), "session", sessionID,
			"attempt", d.AttemptID, "outcome", string(d.Outcome), "reasons", codes(d.Reasons),
			"counted", d.Counted, "attempts_left", d.AttemptsLeft)
		writeJSON(w, http.StatusOK, applicantDecision(d))
		return
	}
}

func (s *Server) failUpload(w http.ResponseWriter, r *http.Request, sessionID string, err error) {
	e := fromError(err)
	s.log.Log(r.Context(), levelFor(e.Status), "upload failed", "session", sessionID, "code", e.Code,
		"reason", string(e.Reason), "status", e.Status, "err", err)
	writeError(w, e)
}

// fail logs an SDK error (national ID masked) and writes it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, op string, id registry.NationalID, err error) {
	e := fromError(err)
	s.log.Log(r.Context(), levelFor(e.Status), op+" failed", "national_id", id.Masked(), "code", e.Code,
		"reasons", codes(e.Reasons), "status", e.Status, "err", err)
	writeError(w, e)
}

func levelFor(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status == http.StatusTooManyRequests || status == http.StatusConflict:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// statusJSON is the answer of GET /api/status/{nationalID}.
type statusJSON struct {
	State            kyc.ApplicantState `json:"state"`
	AttemptsUsed     int                `json:"attempts_used"`
	AttemptsLeft     int                `json:"attempts_left"`
	InPersonRequired bool               `json:"in_person_required"`
	InProgress       bool               `json:"in_progress"`
	Last             *decisionJSON      `json:"last,omitempty"`
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	id, err := registry.ParseNationalID(r.PathValue("nationalID"))
	if err != nil {
		writeError(w, badRequest(string(kyc.CodeInvalidInput), "invalid national ID: "+problemOf(err)))
		return
	}
	if !s.allowNationalID(w, string(id)) {
		return
	}
	st, err := s.cfg.Verifier.Status(r.Context(), string(id))
	if err != nil {
		s.fail(w, r, "status", id, err)
		return
	}
	out := statusJSON{State: st.State, AttemptsUsed: st.AttemptsUsed, AttemptsLeft: st.AttemptsLeft,
		InPersonRequired: st.InPersonRequired, InProgress: st.InProgress}
	if st.Last != nil {
		d := applicantDecision(*st.Last)
		out.Last = &d
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleReasons(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"reasons": reason.All()})
}

func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"vision": s.cfg.Vision, "models": s.cfg.VisionModels, "dev_geoip": s.cfg.DevGeo, "dev_otp": s.cfg.DevOTP != nil,
		"record_seconds": s.cfg.RecordSeconds, "max_upload_bytes": s.cfg.MaxUploadBytes,
		"max_uploads": s.cfg.Verifier.Policy().MaxUploads(),
	})
}

// reviewJSON is the operator's view of a decision: everything in the
// applicant's view plus the national ID, scores and evidence ID.
type reviewJSON struct {
	decisionJSON
	NationalID string               `json:"national_id"`
	Liveness   *kyc.LivenessSummary `json:"liveness,omitempty"`
	Match      *kyc.MatchSummary    `json:"match,omitempty"`
	EvidenceID string               `json:"evidence_id,omitempty"`
	Review     *kyc.ReviewRecord    `json:"review,omitempty"`
	InspectURL string               `json:"inspect_url,omitempty"` // the contact sheet (inspect.go)
}

func operatorDecision(d kyc.Decision) reviewJSON {
	return reviewJSON{decisionJSON: applicantDecision(d), NationalID: d.NationalID, Liveness: d.Liveness,
		Match: d.Match, EvidenceID: d.EvidenceID, Review: d.Review, InspectURL: inspectURL(d)}
}

func (s *Server) handleReviews(w http.ResponseWriter, r *http.Request) {
	limit := 50
	if q := r.URL.Query().Get("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > 500 {
			writeError(w, badRequest(string(kyc.CodeInvalidInput), "limit: want 1..500"))
			return
		}
		limit = n
	}
	ds, err := s.cfg.Verifier.PendingReviews(r.Context(), limit)
	if err != nil {
		s.fail(w, r, "reviews", "", err)
		return
	}
	out := make([]reviewJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, operatorDecision(d))
	}
	writeJSON(w, http.StatusOK, map[string]any{"reviews": out})
}

// reviewRequest is the body of POST /api/reviews/{attemptID}.
type reviewRequest struct {
	Approve    *bool         `json:"approve"`
	OperatorID string        `json:"operator_id"`
	Note       string        `json:"note"`
	Reasons    []reason.Code `json:"reasons"`
}

func (s *Server) handleReview(w http.ResponseWriter, r *http.Request) {
	var req reviewRequest
	if e := decodeJSON(w, r, &req); e != nil {
		writeError(w, *e)
		return
	}
	if req.Approve == nil || strings.TrimSpace(req.OperatorID) == "" {
		writeError(w, badRequest("missing_field", "required: approve, operator_id"))
		return
	}
	attemptID := r.PathValue("attemptID")
	d, err := s.cfg.Verifier.Review(r.Context(), attemptID, kyc.ReviewInput{
		Approve: *req.Approve, OperatorID: req.OperatorID, Note: req.Note, Reasons: req.Reasons})
	if err != nil {
		e := fromError(err)
		s.log.Log(r.Context(), levelFor(e.Status), "review failed", "attempt", attemptID, "code", e.Code, "err", err)
		writeError(w, e)
		return
	}
	s.log.InfoContext(r.Context(), "review resolved", "attempt", attemptID, "operator", req.OperatorID,
		"outcome", string(d.Outcome), "national_id", registry.NationalID(d.NationalID).Masked())
	writeJSON(w, http.StatusOK, operatorDecision(d))
}

func (s *Server) handleDevOTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.DevOTP == nil {
		writeError(w, apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no development OTP sender"})
		return
	}
	m, err := registry.ParseMobile(r.PathValue("mobile"))
	if err != nil {
		writeError(w, badRequest(string(kyc.CodeInvalidInput), "invalid mobile: "+problemOf(err)))
		return
	}
	code := s.cfg.DevOTP.LastCode(m)
	if code == "" {
		writeError(w, apiError{Status: http.StatusNotFound, Code: string(kyc.CodeOTPNotFound), Message: "no code sent to this mobile"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"code": code})
}

func codes(rs []reason.Code) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

func nonNil(rs []reason.Code) []reason.Code {
	if rs == nil {
		return []reason.Code{}
	}
	return rs
}
