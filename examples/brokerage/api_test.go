package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
	"github.com/hoviyat/hoviyat/reason"
	"github.com/hoviyat/hoviyat/registry"
)

func TestInquiry(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, err := f.h.AddPerson(kyctest.PersonSpec{NationalID: "0023456787", Mobile: "09131234567",
		BirthDate: registry.Date{Year: 1390, Month: 2, Day: 10}})
	require.NoError(t, err)

	t.Run("eligible, Persian digits accepted", func(t *testing.T) {
		w := f.do("POST", "/api/inquiry", applicantBody("۰۴۹۹۳۷۰۸۹۹", "۱۳۷۰/۰۱/۱۵", "۰۹۱۲۱۲۳۴۵۶۷"))
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		el := decode[eligibilityJSON](t, w)
		assert.True(t, el.Eligible)
		assert.Empty(t, el.Reasons)
		assert.Equal(t, 3, el.AttemptsLeft)
		assert.Equal(t, "سارا", el.FirstName)
	})
	t.Run("underage gets reasons with both languages", func(t *testing.T) {
		w := f.do("POST", "/api/inquiry", applicantBody("0023456787", "1390/02/10", "09131234567"))
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		el := decode[eligibilityJSON](t, w)
		assert.False(t, el.Eligible)
		assert.Equal(t, []reason.Code{reason.Underage}, el.Reasons)
		assert.True(t, el.InPersonRequired)
		require.NotNil(t, el.Messages)
		assert.Equal(t, reason.Underage.Message(reason.Persian), el.Messages.FA[0].Text)
		assert.Equal(t, reason.Underage.Hint(reason.English), el.Messages.EN[0].Hint)
		assert.Empty(t, el.FirstName, "no registry data for an ineligible applicant")
	})

	errCases := []struct {
		name   string
		body   any
		ctype  string
		status int
		code   string
	}{
		{"missing fields", map[string]string{"national_id": testNID}, "application/json", 400, "missing_field"},
		{"bad checksum", applicantBody("0499370898", "1370/01/15", testMobile), "application/json", 400, "invalid_input"},
		{"impossible date", applicantBody(testNID, "1370/13/40", testMobile), "application/json", 400, "invalid_input"},
		{"bad mobile", applicantBody(testNID, "1370/01/15", "0212345678"), "application/json", 400, "invalid_input"},
		{"unknown field", map[string]string{"national_id": testNID, "birth_date": "1370/01/15", "mobile": testMobile, "x": "1"}, "application/json", 400, "bad_request"},
		{"form encoded", applicantBody(testNID, "1370/01/15", testMobile), "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			w := f.do("POST", "/api/inquiry", c.body, "Content-Type", c.ctype)
			assert.Equal(t, c.status, w.Code, w.Body.String())
			assert.Equal(t, c.code, apiErr(t, w).Error.Code)
		})
	}
	t.Run("oversized body", func(t *testing.T) {
		big := map[string]string{"national_id": strings.Repeat("1", maxJSONBody)}
		w := f.do("POST", "/api/inquiry", big)
		assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
		assert.Equal(t, "payload_too_large", apiErr(t, w).Error.Code)
	})
	t.Run("malformed JSON", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/api/inquiry", strings.NewReader(`{"national_id":`))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = f.ip
		w := httptest.NewRecorder()
		f.srv.ServeHTTP(w, req)
		assert.Equal(t, http.StatusBadRequest, w.Code)
		assert.Equal(t, "bad_request", apiErr(t, w).Error.Code)
	})
}

func TestOTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t)

	w := f.do("POST", "/api/otp/confirm", map[string]string{"national_id": testNID, "code": "123456"})
	assert.Equal(t, http.StatusNotFound, w.Code, "confirm before send")
	assert.Equal(t, string(kyc.CodeOTPNotFound), apiErr(t, w).Error.Code)

	w = f.do("POST", "/api/otp", f.body())
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	ticket := decode[map[string]string](t, w)
	assert.Equal(t, "0912***4567", ticket["mobile"], "the mobile comes back masked")

	w = f.do("POST", "/api/otp", f.body())
	assert.Equal(t, http.StatusTooManyRequests, w.Code, "resend within a minute")
	assert.Equal(t, string(kyc.CodeOTPResendTooSoon), apiErr(t, w).Error.Code)

	code := f.h.OTP.LastCode(registry.Mobile(testMobile))
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	w = f.do("POST", "/api/otp/confirm", map[string]string{"national_id": testNID, "code": wrong})
	assert.Equal(t, http.StatusUnprocessableEntity, w.Code)
	assert.Equal(t, string(kyc.CodeOTPMismatch), apiErr(t, w).Error.Code)

	w = f.do("POST", "/api/otp/confirm", map[string]string{"national_id": testNID})
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Equal(t, "missing_field", apiErr(t, w).Error.Code)

	w = f.do("POST", "/api/otp/confirm", map[string]string{"national_id": testNID, "code": kyc.ToPersianDigits(code)})
	assert.Equal(t, http.StatusOK, w.Code, "Persian digits in the code: %s", w.Body.String())

	t.Run("mobile of someone else", func(t *testing.T) {
		w := f.do("POST", "/api/otp", applicantBody(testNID, "1370/01/15", "09359876543"))
		assert.Equal(t, http.StatusForbidden, w.Code)
		e := apiErr(t, w)
		assert.Equal(t, string(kyc.CodeNotEligible), e.Error.Code)
		assert.Contains(t, e.Error.Reasons, string(reason.MobileNotOwned))
		require.NotNil(t, e.Error.Messages)
		assert.Equal(t, reason.MobileNotOwned.Message(reason.Persian), e.Error.Messages.FA[0].Text)
	})
}

func TestBegin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.do("POST", "/api/sessions", f.body())
	assert.Equal(t, http.StatusForbidden, w.Code, "no OTP yet")
	e := apiErr(t, w)
	assert.Equal(t, string(kyc.CodeNotEligible), e.Error.Code)
	assert.Equal(t, []string{string(reason.OTPRequired)}, e.Error.Reasons)

	id := f.session()
	assert.True(t, strings.HasPrefix(id, "ses_"))
	w = f.do("POST", "/api/sessions", f.body())
	require.Equal(t, http.StatusCreated, w.Code)
	s := decode[sessionJSON](t, w)
	assert.NotEmpty(t, s.Challenge)
	assert.Equal(t, 3, s.AttemptsLeft)
	assert.Equal(t, 5, s.RecordSeconds)
	assert.Equal(t, int64(1<<20), s.MaxUploadBytes)
	assert.Equal(t, "/api/sessions/"+s.SessionID+"/video", s.UploadURL)
	assert.Equal(t, kyctest.Start.Add(3*time.Minute).Unix(), s.ExpiresAt.Unix())
}

func TestUpload(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		video   io.Reader
		status  int
		outcome kyc.Outcome
		reasons []reason.Code
		code    string
		retry   bool
	}{
		{name: "live", video: kyctest.LiveVideo(testNID), status: 200, outcome: kyc.Approved},
		{name: "spoof", video: kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Spoof, Face: testNID}),
			status: 200, outcome: kyc.Rejected, reasons: []reason.Code{reason.SpoofSuspected}, retry: true},
		{name: "someone else", video: kyctest.LiveVideo("0790419904"),
			status: 200, outcome: kyc.Rejected, reasons: []reason.Code{reason.FaceMismatch}, retry: true},
		{name: "borderline", video: kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Live, Face: testNID, Similarity: 0.4}),
			status: 200, outcome: kyc.Review, reasons: []reason.Code{reason.BorderlineMatch}},
		{name: "dark", video: kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Live, Face: testNID, Quality: []reason.Code{reason.LowLight}}),
			status: 200, outcome: kyc.Rejected, reasons: []reason.Code{reason.LowLight}, retry: true},
		{name: "not a video", video: strings.NewReader("<html>not a video</html>"),
			status: 422, code: string(kyc.CodeVideoRejected), reasons: []reason.Code{reason.VideoInvalid}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			w := f.upload(f.session(), "video", c.video)
			require.Equal(t, c.status, w.Code, w.Body.String())
			if c.code != "" {
				e := apiErr(t, w)
				assert.Equal(t, c.code, e.Error.Code)
				assert.Equal(t, string(c.reasons[0]), e.Error.Reason)
				require.NotNil(t, e.Error.Messages, "the reason's texts come with the error")
				assert.Equal(t, c.reasons[0].Message(reason.Persian), e.Error.Messages.FA[0].Text)
				assert.Equal(t, c.reasons[0].Message(reason.English), e.Error.Messages.EN[0].Text)
				return
			}
			d := decode[decisionJSON](t, w)
			assert.Equal(t, c.outcome, d.Outcome)
			assert.Equal(t, nonNil(c.reasons), d.Reasons)
			assert.Equal(t, c.retry, d.CanRetry)
			if len(c.reasons) > 0 {
				require.NotNil(t, d.Messages)
				assert.Equal(t, c.reasons[0].Hint(reason.Persian), d.Messages.FA[0].Hint)
			}
			assert.NotContains(t, w.Body.String(), "similarity", "scores stay with the operator")
		})
	}
}

func TestUploadErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)

	t.Run("unknown session", func(t *testing.T) {
		w := f.upload("ses_doesnotexist", "video", kyctest.LiveVideo(testNID))
		assert.Equal(t, http.StatusNotFound, w.Code)
		assert.Equal(t, string(kyc.CodeSessionNotFound), apiErr(t, w).Error.Code)
	})

	id := f.session()
	t.Run("missing video field", func(t *testing.T) {
		w := f.upload(id, "file", kyctest.LiveVideo(testNID))
		assert.Equal(t, http.StatusBadRequest, w.Code)
		assert.Equal(t, "missing_field", apiErr(t, w).Error.Code)
	})
	t.Run("not multipart", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/api/sessions/"+id+"/video", kyctest.LiveVideo(testNID))
		req.Header.Set("Content-Type", "video/webm")
		req.RemoteAddr = f.ip
		w := httptest.NewRecorder()
		f.srv.ServeHTTP(w, req)
		assert.Equal(t, http.StatusUnsupportedMediaType, w.Code)
		assert.Equal(t, "unsupported_media_type", apiErr(t, w).Error.Code)
	})
	t.Run("declared length over the cap", func(t *testing.T) {
		body, ct := multipartBody(t, "video", bytes.NewReader(make([]byte, 1<<20+multipartSlack)))
		req := httptest.NewRequest("POST", "/api/sessions/"+id+"/video", body)
		req.Header.Set("Content-Type", ct)
		req.RemoteAddr = f.ip
		w := httptest.NewRecorder()
		f.srv.ServeHTTP(w, req)
		assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
		assert.Equal(t, "payload_too_large", apiErr(t, w).Error.Code)
	})
	t.Run("streamed body over the cap", func(t *testing.T) {
		body, ct := multipartBody(t, "video", bytes.NewReader(make([]byte, 1<<20+multipartSlack)))
		req := httptest.NewRequest("POST", "/api/sessions/"+id+"/video", io.MultiReader(body)) // unknown length
		req.ContentLength = -1
		req.Header.Set("Content-Type", ct)
		req.RemoteAddr = f.ip
		w := httptest.NewRecorder()
		f.srv.ServeHTTP(w, req)
		assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code, w.Body.String())
		assert.Equal(t, string(reason.VideoTooLarge), apiErr(t, w).Error.Reason)
	})
	t.Run("video over the SDK cap inside the envelope", func(t *testing.T) {
		w := f.upload(id, "video", bytes.NewReader(make([]byte, 1<<20+1)))
		assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code, w.Body.String())
		e := apiErr(t, w)
		assert.Equal(t, string(kyc.CodeVideoRejected), e.Error.Code)
		assert.Equal(t, string(reason.VideoTooLarge), e.Error.Reason)
	})

	// The size failures above happened before anything was reserved, so
	// the session still takes one upload, and only one.
	w := f.upload(id, "video", kyctest.LiveVideo(testNID))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	t.Run("replayed session", func(t *testing.T) {
		w := f.upload(id, "video", kyctest.LiveVideo(testNID))
		assert.Equal(t, http.StatusConflict, w.Code)
		assert.Equal(t, string(kyc.CodeSessionUsed), apiErr(t, w).Error.Code)
	})
}

func TestUploadExpiredSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.session()
	f.h.Clock.Advance(3*time.Minute + time.Second)
	w := f.upload(id, "video", kyctest.LiveVideo(testNID))
	assert.Equal(t, http.StatusGone, w.Code)
	assert.Equal(t, string(kyc.CodeSessionExpired), apiErr(t, w).Error.Code)
}

func TestStatus(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.do("GET", "/api/status/"+testNID, nil)
	require.Equal(t, http.StatusOK, w.Code)
	st := decode[statusJSON](t, w)
	assert.Equal(t, kyc.StateActive, st.State)
	assert.Nil(t, st.Last)

	w = f.upload(f.session(), "video", kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Spoof, Face: testNID}))
	require.Equal(t, http.StatusOK, w.Code)
	st = decode[statusJSON](t, f.do("GET", "/api/status/"+testNID, nil))
	assert.Equal(t, 1, st.AttemptsUsed)
	assert.Equal(t, 2, st.AttemptsLeft)
	require.NotNil(t, st.Last)
	assert.Equal(t, kyc.Rejected, st.Last.Outcome)

	w = f.do("GET", "/api/status/12345", nil)
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Equal(t, string(kyc.CodeInvalidInput), apiErr(t, w).Error.Code)
}

func TestReviews(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.upload(f.session(), "video", kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Live, Face: testNID, Similarity: 0.4}))
	require.Equal(t, http.StatusOK, w.Code)
	d := decode[decisionJSON](t, w)
	require.Equal(t, kyc.Review, d.Outcome)

	auth := []struct {
		name   string
		header []string
	}{
		{"no token", nil},
		{"wrong token", []string{"Authorization", "Bearer nope"}},
		{"not bearer", []string{"Authorization", "Basic " + testToken}},
	}
	for _, c := range auth {
		t.Run(c.name, func(t *testing.T) {
			w := f.do("GET", "/api/reviews", nil, c.header...)
			assert.Equal(t, http.StatusUnauthorized, w.Code)
			assert.Equal(t, "unauthorized", apiErr(t, w).Error.Code)
			assert.Contains(t, w.Header().Get("WWW-Authenticate"), "Bearer")
			w = f.do("POST", "/api/reviews/"+d.AttemptID, map[string]any{"approve": true, "operator_id": "op"}, c.header...)
			assert.Equal(t, http.StatusUnauthorized, w.Code)
		})
	}

	bearer := []string{"Authorization", "Bearer " + testToken}
	w = f.do("GET", "/api/reviews", nil, bearer...)
	require.Equal(t, http.StatusOK, w.Code)
	q := decode[struct {
		Reviews []reviewJSON `json:"reviews"`
	}](t, w)
	require.Len(t, q.Reviews, 1)
	assert.Equal(t, d.AttemptID, q.Reviews[0].AttemptID)
	assert.Equal(t, testNID, q.Reviews[0].NationalID)
	require.NotNil(t, q.Reviews[0].Match, "operators see the scores")
	assert.InDelta(t, 0.4, q.Reviews[0].Match.Similarity, 1e-9)

	w = f.do("POST", "/api/reviews/"+d.AttemptID, map[string]any{"operator_id": "op-7"}, bearer...)
	assert.Equal(t, http.StatusBadRequest, w.Code, "approve is required")
	assert.Equal(t, "missing_field", apiErr(t, w).Error.Code)
	w = f.do("POST", "/api/reviews/att_unknown", map[string]any{"approve": true, "operator_id": "op-7"}, bearer...)
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Equal(t, string(kyc.CodeAttemptNotFound), apiErr(t, w).Error.Code)

	w = f.do("POST", "/api/reviews/"+d.AttemptID, map[string]any{"approve": true, "operator_id": "op-7", "note": "same person"}, bearer...)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	r := decode[reviewJSON](t, w)
	assert.Equal(t, kyc.Approved, r.Outcome)
	require.NotNil(t, r.Review)
	assert.Equal(t, "op-7", r.Review.OperatorID)

	w = f.do("POST", "/api/reviews/"+d.AttemptID, map[string]any{"approve": false, "operator_id": "op-7"}, bearer...)
	assert.Equal(t, http.StatusConflict, w.Code, "already resolved")
	assert.Equal(t, string(kyc.CodeNotInReview), apiErr(t, w).Error.Code)

	q = decode[struct {
		Reviews []reviewJSON `json:"reviews"`
	}](t, f.do("GET", "/api/reviews?limit=10", nil, bearer...))
	assert.Empty(t, q.Reviews)
	assert.Equal(t, http.StatusBadRequest, f.do("GET", "/api/reviews?limit=0", nil, bearer...).Code)
}

func TestOperatorEndpointsDisabledWithoutToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config, _ *kyctest.Options) { c.OperatorToken = "" })
	for _, h := range [][]string{nil, {"Authorization", "Bearer "}, {"Authorization", "Bearer " + testToken}} {
		w := f.do("GET", "/api/reviews", nil, h...)
		assert.Equal(t, http.StatusUnauthorized, w.Code)
	}
}

func TestDevOTP(t *testing.T) {
	t.Parallel()
	otp := NewConsoleOTP(nil)
	f := newFixture(t, func(c *Config, o *kyctest.Options) {
		c.DevOTP = otp
		o.Configure = func(k *kyc.Config) { k.OTP = otp }
	})
	bearer := []string{"Authorization", "Bearer " + testToken}
	w := f.do("GET", "/api/dev/otp/"+testMobile, nil, bearer...)
	assert.Equal(t, http.StatusNotFound, w.Code)
	require.Equal(t, http.StatusOK, f.do("POST", "/api/otp", f.body()).Code)
	assert.Equal(t, http.StatusUnauthorized, f.do("GET", "/api/dev/otp/"+testMobile, nil).Code)
	w = f.do("GET", "/api/dev/otp/"+testMobile, nil, bearer...)
	require.Equal(t, http.StatusOK, w.Code)
	code := decode[map[string]string](t, w)["code"]
	assert.Len(t, code, 6)
	w = f.do("POST", "/api/otp/confirm", map[string]string{"national_id": testNID, "code": code})
	assert.Equal(t, http.StatusOK, w.Code, "the dev code is the real one")
}

func TestClientIPThroughTrustedProxy(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config, _ *kyctest.Options) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	cases := []struct {
		name, remote, xff string
		eligible          bool
		reason            reason.Code
	}{
		{"direct from Iran", kyctest.IranIP.String() + ":1", "", true, ""},
		{"trusted proxy forwards an Iranian client", "10.1.2.3:1", kyctest.IranIP.String(), true, ""},
		{"trusted proxy forwards a foreign client", "10.1.2.3:1", kyctest.ForeignIP.String(), false, reason.OutsideCountry},
		{"untrusted peer's header is ignored", kyctest.ForeignIP.String() + ":1", kyctest.IranIP.String(), false, reason.OutsideCountry},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.ip = c.remote
			hdr := []string{}
			if c.xff != "" {
				hdr = []string{"X-Forwarded-For", c.xff}
			}
			w := f.do("POST", "/api/inquiry", f.body(), hdr...)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			el := decode[eligibilityJSON](t, w)
			assert.Equal(t, c.eligible, el.Eligible)
			if c.reason != "" {
				assert.Contains(t, el.Reasons, c.reason)
			}
		})
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config, _ *kyctest.Options) {
		c.IPRate, c.IPBurst = 1, 3
		c.IDRate, c.IDBurst = 0.1, 2
	})
	// Per IP: three requests pass, the fourth is refused, another IP passes.
	for i := 0; i < 3; i++ {
		assert.Equal(t, http.StatusOK, f.do("GET", "/api/reasons", nil).Code, "request %d", i)
	}
	w := f.do("GET", "/api/reasons", nil)
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	e := apiErr(t, w)
	assert.Equal(t, "rate_limited", e.Error.Code)
	assert.GreaterOrEqual(t, e.Error.RetryAfter, 1)
	assert.Equal(t, "1", w.Header().Get("Retry-After"))
	f.ip = "5.160.10.21:1"
	assert.Equal(t, http.StatusOK, f.do("GET", "/api/reasons", nil).Code)

	// Per national ID: the third inquiry for one ID is refused even from
	// fresh IPs.
	for i, ip := range []string{"5.160.10.30:1", "5.160.10.31:1", "5.160.10.32:1"} {
		f.ip = ip
		w := f.do("POST", "/api/inquiry", f.body())
		if i < 2 {
			assert.Equal(t, http.StatusOK, w.Code)
			continue
		}
		assert.Equal(t, http.StatusTooManyRequests, w.Code)
		e := apiErr(t, w)
		assert.Equal(t, "rate_limited", e.Error.Code)
		assert.Equal(t, 10, e.Error.RetryAfter, "one token per 10 s")
	}
	body := metricsBody(t, f)
	assert.Contains(t, body, `hoviyat_rate_limited_total{scope="ip"} 1`)
	assert.Contains(t, body, `hoviyat_rate_limited_total{scope="national_id"} 1`)
}

func TestMethodsAndUnknownPaths(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.do("GET", "/api/inquiry", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	assert.Equal(t, "method_not_allowed", apiErr(t, w).Error.Code)
	assert.Equal(t, "POST", w.Header().Get("Allow"))
	w = f.do("DELETE", "/api/status/"+testNID, nil)
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	w = f.do("GET", "/api/nothing/here", nil)
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Equal(t, "not_found", apiErr(t, w).Error.Code)
	assert.Equal(t, http.StatusMethodNotAllowed, f.do("POST", "/", nil).Code)
	assert.Equal(t, http.StatusNotFound, f.do("GET", "/nothing.js", nil).Code)
}

func TestReasonsAndConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.do("GET", "/api/reasons", nil)
	require.Equal(t, http.StatusOK, w.Code)
	cat := decode[struct {
		Reasons []reason.Info `json:"reasons"`
	}](t, w)
	assert.Equal(t, reason.All(), cat.Reasons, "the page's texts are the catalogue")

	cfg := decode[map[string]any](t, f.do("GET", "/api/config", nil))
	assert.Equal(t, "fake", cfg["vision"])
	assert.EqualValues(t, 5, cfg["record_seconds"])
	assert.EqualValues(t, 3, cfg["max_uploads"])
	assert.Equal(t, false, cfg["dev_otp"])
}

func TestHealthAndDrain(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	assert.Equal(t, http.StatusOK, f.do("GET", "/healthz", nil).Code)
	f.srv.Drain()
	w := f.do("GET", "/healthz", nil)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Contains(t, w.Body.String(), "draining")
}

func TestNewServerNeedsVerifier(t *testing.T) {
	t.Parallel()
	_, err := NewServer(Config{})
	assert.Error(t, err)
}
