package kyc_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hoviyat/hoviyat/kyc"
	"github.com/hoviyat/hoviyat/kyc/kyctest"
	"github.com/hoviyat/hoviyat/reason"
	"github.com/hoviyat/hoviyat/registry"
)

// The whole ceremony on fakes: inquiry, OTP, challenge, upload, decision.
func Example() {
	ctx := context.Background()
	h, err := kyctest.New(kyctest.Options{Fee: 250_000})
	if err != nil {
		panic(err)
	}
	defer h.Verifier.Close()
	v := h.Verifier
	a, _ := h.AddPerson(kyctest.PersonSpec{NationalID: "۰۴۹۹-۳۷۰۸۹۹", FirstName: "مریم", LastName: "احمدی"})

	el, _ := v.Inquire(ctx, a)
	fmt.Println("eligible:", el.Eligible, "attempts left:", el.AttemptsLeft)

	t, _ := v.SendOTP(ctx, a)
	fmt.Println("code sent to", t.Mobile)
	m, _ := registry.ParseMobile(a.Mobile)
	if err := v.ConfirmOTP(ctx, a.NationalID, h.OTP.LastCode(m)); err != nil {
		panic(err)
	}

	s, _ := v.Begin(ctx, a)
	fmt.Println("read aloud:", len(strings.Fields(s.Challenge)), "words, before", s.ExpiresAt.In(kyctest.Tehran).Format("15:04"))

	d, err := v.Submit(ctx, s.ID, kyctest.LiveVideo("0499370899"))
	if err != nil {
		panic(err)
	}
	fmt.Println("outcome:", d.Outcome, "fee:", d.Fee.Amount, d.Fee.Currency)

	el, _ = v.Inquire(ctx, a)
	fmt.Println("again?", el.Eligible, el.Reasons)
	fmt.Println("audit intact:", v.VerifyAudit(ctx) == nil)
	// Output:
	// eligible: true attempts left: 3
	// code sent to 0912***0899
	// read aloud: 4 words, before 10:03
	// outcome: approved fee: 250000 IRR
	// again? false [already_verified]
	// audit intact: true
}

// Three failed uploads lock remote verification; the reasons come with
// Persian and English messages.
func Example_locked() {
	ctx := context.Background()
	h, _ := kyctest.New(kyctest.Options{})
	defer h.Verifier.Close()
	a, _ := h.AddPerson(kyctest.PersonSpec{NationalID: "0790419904"})
	if err := h.ConfirmOTP(ctx, a); err != nil {
		panic(err)
	}
	spoof := kyctest.VideoSpec{Behaviour: kyctest.Spoof, Face: "0790419904"}
	for i := 1; i <= 3; i++ {
		d, err := h.Resubmit(ctx, a, kyctest.Video(spoof))
		if err != nil {
			panic(err)
		}
		fmt.Println(i, d.Outcome, d.Reasons, "left:", d.AttemptsLeft, "in person:", d.InPersonRequired)
		if i == 3 {
			for _, msg := range d.Messages(reason.English) {
				fmt.Println(" ", msg.Code+":", msg.Text)
			}
			fmt.Println(" ", d.Messages(reason.Persian)[0].Text)
		}
	}
	_, err := h.Verifier.Begin(ctx, a)
	fmt.Println("4th upload refused:", errors.Is(err, kyc.ErrNotEligible))
	// Output:
	// 1 rejected [spoof_suspected] left: 2 in person: false
	// 2 rejected [spoof_suspected] left: 1 in person: false
	// 3 locked [spoof_suspected attempts_exhausted] left: 0 in person: true
	//   spoof_suspected: The video was not recognised as a live person in front of the camera.
	//   attempts_exhausted: You have used all allowed video uploads.
	//   ویدئو از یک فرد زنده در برابر دوربین تشخیص داده نشد.
	// 4th upload refused: true
}

// A borderline match goes to an operator, who makes the final call.
func ExampleVerifier_Review() {
	ctx := context.Background()
	h, _ := kyctest.New(kyctest.Options{})
	defer h.Verifier.Close()
	a, _ := h.AddPerson(kyctest.PersonSpec{NationalID: "1583250689"})
	d, err := h.Verify(ctx, a, kyctest.Video(kyctest.VideoSpec{Behaviour: kyctest.Live, Face: "1583250689", Similarity: 0.42}))
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Outcome, d.Reasons)

	queue, _ := h.Verifier.PendingReviews(ctx, 10)
	fmt.Println("waiting for review:", len(queue))
	r, _ := h.Verifier.Review(ctx, queue[0].AttemptID, kyc.ReviewInput{Approve: true, OperatorID: "op-17", Note: "same person, glasses"})
	fmt.Println(r.Outcome, "by", r.Review.OperatorID)
	st, _ := h.Verifier.Status(ctx, "1583250689")
	fmt.Println("state:", st.State)
	// Output:
	// review [borderline_match]
	// waiting for review: 1
	// approved by op-17
	// state: verified
}
