// Package reason is the catalogue of stable reason codes that explain why an
// applicant was refused, rejected or sent to review, with a Persian and an
// English message and a hint for each.
//
// Codes are persisted and branched on by hosts, so they never change once
// published; messages may be reworded. The package has no dependencies so
// that policy, liveness, facematch and kyc can all share it.
package reason

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Code is a stable snake_case identifier of one reason.
type Code string

// Policy reasons: the applicant may not verify remotely.
const (
	Underage               Code = "underage"
	NotNative              Code = "not_native"
	Deceased               Code = "deceased"
	AlreadyVerified        Code = "already_verified"
	AttemptsExhausted      Code = "attempts_exhausted"
	Locked                 Code = "locked"
	OutsideCountry         Code = "outside_country"
	LocationUnknown        Code = "location_unknown"
	RepresentativeInPerson Code = "representative_in_person"
	MobileNotOwned         Code = "mobile_not_owned"
	OTPRequired            Code = "otp_required"
	IdentityNotFound       Code = "identity_not_found"
	InReview               Code = "in_review"
)

// Video quality reasons: the video cannot be judged; the applicant can fix
// the cause and try again.
const (
	NoFace          Code = "no_face"
	MultipleFaces   Code = "multiple_faces"
	FaceTooFar      Code = "face_too_far"
	FaceOutOfFrame  Code = "face_out_of_frame"
	LowLight        Code = "low_light"
	Overexposed     Code = "overexposed"
	LowQuality      Code = "low_quality"
	BadAngle        Code = "bad_angle"
	Reflection      Code = "reflection"
	CameraShake     Code = "camera_shake"
	VideoTooShort   Code = "video_too_short"
	VideoTooLong    Code = "video_too_long"
	VideoTooLarge   Code = "video_too_large"
	VideoInvalid    Code = "video_invalid"
	ChallengeNotMet Code = "challenge_not_met"
)

// Liveness and matching reasons.
const (
	SpoofSuspected     Code = "spoof_suspected"
	FaceMismatch       Code = "face_mismatch"
	ReferenceUnusable  Code = "reference_unusable"
	OperatorRejected   Code = "operator_rejected"
	BorderlineLiveness Code = "borderline_liveness"
	BorderlineMatch    Code = "borderline_match"
)

// Kind groups codes by the stage that produces them.
type Kind string

// Kinds of reasons.
const (
	KindPolicy   Kind = "policy"
	KindQuality  Kind = "quality"
	KindLiveness Kind = "liveness"
	KindMatch    Kind = "match"
	KindReview   Kind = "review"
)

// Lang selects the language of a message.
type Lang string

// Supported languages.
const (
	Persian Lang = "fa"
	English Lang = "en"
)

// Info is the catalogue entry of one code.
type Info struct {
	Code Code `json:"code"`
	Kind Kind `json:"kind"`
	// FA and EN say what happened, addressed to the applicant.
	FA string `json:"fa"`
	EN string `json:"en"`
	// HintFA and HintEN say what to do next.
	HintFA string `json:"hint_fa"`
	HintEN string `json:"hint_en"`
	// InPerson reports that the applicant can only continue at a service
	// centre.
	InPerson bool `json:"in_person"`
}

var catalogue = map[Code]Info{
	Underage: {Kind: KindPolicy, InPerson: true,
		FA:     "احراز هویت غیرحضوری فقط برای افراد بالای ۱۸ سال (به تقویم هجری شمسی) ممکن است.",
		EN:     "Remote verification is only available to people aged 18 or over (Solar Hijri calendar).",
		HintFA: "برای احراز هویت همراه ولی یا قیم به یکی از دفاتر پیشخوان مراجعه کنید.",
		HintEN: "Visit a service centre together with your guardian."},
	NotNative: {Kind: KindPolicy, InPerson: true,
		FA:     "احراز هویت غیرحضوری فقط برای اتباع ایرانی ممکن است.",
		EN:     "Remote verification is only available to Iranian citizens.",
		HintFA: "برای احراز هویت حضوری به یکی از دفاتر پیشخوان مراجعه کنید.",
		HintEN: "Visit a service centre to verify in person."},
	Deceased: {Kind: KindPolicy, InPerson: true,
		FA:     "بر اساس استعلام ثبت احوال، صاحب این کد ملی در قید حیات نیست.",
		EN:     "The civil registry reports the holder of this national ID as deceased.",
		HintFA: "در صورت خطا در اطلاعات ثبت احوال، به اداره ثبت احوال مراجعه کنید.",
		HintEN: "If the registry is wrong, contact the civil registration office."},
	AlreadyVerified: {Kind: KindPolicy,
		FA:     "هویت این کد ملی قبلاً احراز شده است و احراز غیرحضوری دوباره ممکن نیست.",
		EN:     "This national ID has already been verified; remote verification is allowed only once.",
		HintFA: "برای تغییر اطلاعات به یکی از دفاتر پیشخوان مراجعه کنید.",
		HintEN: "Visit a service centre to change your details."},
	AttemptsExhausted: {Kind: KindPolicy, InPerson: true,
		FA:     "تعداد مجاز بارگذاری ویدئو به پایان رسیده است.",
		EN:     "You have used all allowed video uploads.",
		HintFA: "برای احراز هویت حضوری به یکی از دفاتر پیشخوان مراجعه کنید.",
		HintEN: "Visit a service centre to verify in person."},
	Locked: {Kind: KindPolicy, InPerson: true,
		FA:     "احراز هویت غیرحضوری برای این کد ملی مسدود شده است.",
		EN:     "Remote verification is locked for this national ID.",
		HintFA: "برای احراز هویت حضوری به یکی از دفاتر پیشخوان مراجعه کنید.",
		HintEN: "Visit a service centre to verify in person."},
	OutsideCountry: {Kind: KindPolicy,
		FA:     "احراز هویت غیرحضوری فقط از داخل ایران ممکن است.",
		EN:     "Remote verification is only available from inside Iran.",
		HintFA: "اگر از فیلترشکن یا VPN استفاده می‌کنید آن را خاموش کنید و دوباره تلاش کنید.",
		HintEN: "Turn off any VPN or proxy and try again from inside Iran."},
	LocationUnknown: {Kind: KindPolicy,
		FA:     "موقعیت اتصال شما مشخص نشد.",
		EN:     "The location of your connection could not be determined.",
		HintFA: "فیلترشکن یا VPN را خاموش کنید و با اینترنت داخل ایران دوباره تلاش کنید.",
		HintEN: "Turn off any VPN or proxy and try again on an Iranian network."},
	RepresentativeInPerson: {Kind: KindPolicy, InPerson: true,
		FA:     "احراز هویت از طریق ولی، قیم یا وکیل فقط به صورت حضوری ممکن است.",
		EN:     "Verification through a guardian, custodian or attorney is only possible in person.",
		HintFA: "همراه مدارک نمایندگی به یکی از دفاتر پیشخوان مراجعه کنید.",
		HintEN: "Visit a service centre with the representation documents."},
	MobileNotOwned: {Kind: KindPolicy,
		FA:     "شماره همراه واردشده به نام صاحب این کد ملی ثبت نشده است.",
		EN:     "The mobile number is not registered to the holder of this national ID.",
		HintFA: "شماره همراهی را وارد کنید که به نام خودتان است.",
		HintEN: "Enter a mobile number registered in your own name."},
	OTPRequired: {Kind: KindPolicy,
		FA:     "شماره همراه هنوز با کد تأیید یک‌بارمصرف تأیید نشده است.",
		EN:     "The mobile number has not been confirmed with a one-time code yet.",
		HintFA: "کد پیامک‌شده را وارد کنید.",
		HintEN: "Enter the code sent to your mobile by SMS."},
	IdentityNotFound: {Kind: KindPolicy,
		FA:     "کد ملی و تاریخ تولد با اطلاعات ثبت احوال مطابقت ندارد.",
		EN:     "The national ID and birth date do not match the civil registry.",
		HintFA: "کد ملی و تاریخ تولد را مطابق کارت ملی وارد کنید.",
		HintEN: "Enter the national ID and birth date exactly as on your national card."},
	InReview: {Kind: KindPolicy,
		FA:     "ویدئوی قبلی شما در حال بررسی کارشناس است.",
		EN:     "Your previous video is being reviewed by an operator.",
		HintFA: "پس از اعلام نتیجه بررسی دوباره مراجعه کنید.",
		HintEN: "Come back after the review result is announced."},

	NoFace: {Kind: KindQuality,
		FA:     "چهره‌ای در ویدئو پیدا نشد.",
		EN:     "No face was found in the video.",
		HintFA: "صورت خود را کامل و روبه‌روی دوربین در قاب بیضی قرار دهید.",
		HintEN: "Keep your whole face in front of the camera, inside the oval."},
	MultipleFaces: {Kind: KindQuality,
		FA:     "بیش از یک چهره در ویدئو دیده شد.",
		EN:     "More than one face was seen in the video.",
		HintFA: "هنگام ضبط فقط خودتان در کادر باشید و عکس یا تصویر دیگری پشت سرتان نباشد.",
		HintEN: "Make sure only you are in view, with no photos or screens behind you."},
	FaceTooFar: {Kind: KindQuality,
		FA:     "چهره شما از دوربین خیلی دور است.",
		EN:     "Your face is too far from the camera.",
		HintFA: "گوشی را نزدیک‌تر بگیرید تا صورتتان قاب بیضی را پر کند.",
		HintEN: "Hold the camera closer so your face fills the oval."},
	FaceOutOfFrame: {Kind: KindQuality,
		FA:     "بخشی از چهره شما بیرون از کادر است.",
		EN:     "Part of your face is outside the frame.",
		HintFA: "صورت خود را وسط کادر نگه دارید.",
		HintEN: "Keep your face in the middle of the frame."},
	LowLight: {Kind: KindQuality,
		FA:     "نور محیط برای ضبط ویدئو کافی نیست.",
		EN:     "The light is too low.",
		HintFA: "در مکانی روشن و روبه‌روی منبع نور ضبط کنید.",
		HintEN: "Record in a bright place, facing the light."},
	Overexposed: {Kind: KindQuality,
		FA:     "نور روی صورت بیش از حد زیاد است.",
		EN:     "Your face is overexposed.",
		HintFA: "از نور مستقیم خورشید یا لامپ روبه‌روی صورت دوری کنید.",
		HintEN: "Avoid direct sunlight or a lamp shining straight at your face."},
	LowQuality: {Kind: KindQuality,
		FA:     "کیفیت تصویر دوربین پایین یا تار است.",
		EN:     "The camera image is blurry or of low quality.",
		HintFA: "لنز دوربین را تمیز کنید و در صورت امکان از دوربین جلوی گوشی بهتری استفاده کنید.",
		HintEN: "Clean the lens and, if possible, use a better camera."},
	BadAngle: {Kind: KindQuality,
		FA:     "زاویه صورت نسبت به دوربین مناسب نیست.",
		EN:     "Your face is at a bad angle to the camera.",
		HintFA: "مستقیم به دوربین نگاه کنید و گوشی را هم‌سطح صورت نگه دارید.",
		HintEN: "Look straight at the camera and hold it level with your face."},
	Reflection: {Kind: KindQuality,
		FA:     "بازتاب نور یا شیشه در تصویر دیده می‌شود.",
		EN:     "Light reflections or glass are visible in the picture.",
		HintFA: "پشت سرتان شیشه یا قاب عکس نباشد و بازتاب نور روی عینک یا صورت را کم کنید.",
		HintEN: "Avoid glass or framed pictures behind you and reduce glare on glasses or skin."},
	CameraShake: {Kind: KindQuality,
		FA:     "دوربین هنگام ضبط لرزش داشته است.",
		EN:     "The camera shook while recording.",
		HintFA: "گوشی را با دو دست ثابت نگه دارید یا آن را به جایی تکیه دهید.",
		HintEN: "Hold the phone steady with both hands or rest it on something."},
	VideoTooShort: {Kind: KindQuality,
		FA:     "ویدئو خیلی کوتاه است.",
		EN:     "The video is too short.",
		HintFA: "تا پایان شمارش معکوس ضبط را ادامه دهید.",
		HintEN: "Keep recording until the countdown ends."},
	VideoTooLong: {Kind: KindQuality,
		FA:     "ویدئو خیلی طولانی است.",
		EN:     "The video is too long.",
		HintFA: "فقط در زمان شمارش معکوس ضبط کنید.",
		HintEN: "Record only during the countdown."},
	VideoTooLarge: {Kind: KindQuality,
		FA:     "حجم فایل ویدئو بیش از حد مجاز است.",
		EN:     "The video file is larger than allowed.",
		HintFA: "ویدئو را دوباره و با کیفیت پیش‌فرض دوربین ضبط کنید.",
		HintEN: "Record again at the camera's default quality."},
	VideoInvalid: {Kind: KindQuality,
		FA:     "فایل ویدئو خوانده نشد.",
		EN:     "The video file could not be read.",
		HintFA: "دوباره ضبط کنید و صبر کنید تا بارگذاری کامل شود.",
		HintEN: "Record again and wait for the upload to finish."},
	ChallengeNotMet: {Kind: KindLiveness,
		FA:     "متن نمایش‌داده‌شده در ویدئو خوانده نشد.",
		EN:     "The displayed text was not read aloud in the video.",
		HintFA: "هنگام ضبط، متن روی صفحه را با صدای بلند و رو به دوربین بخوانید.",
		HintEN: "Read the text on screen aloud, facing the camera, while recording."},

	SpoofSuspected: {Kind: KindLiveness,
		FA:     "ویدئو از یک فرد زنده در برابر دوربین تشخیص داده نشد.",
		EN:     "The video was not recognised as a live person in front of the camera.",
		HintFA: "خودتان و بدون عکس، نمایشگر یا ویدئوی ضبط‌شده روبه‌روی دوربین قرار بگیرید.",
		HintEN: "Face the camera yourself, without photos, screens or recorded videos."},
	FaceMismatch: {Kind: KindMatch,
		FA:     "چهره در ویدئو با تصویر ثبت احوال مطابقت ندارد.",
		EN:     "The face in the video does not match the civil-registry photo.",
		HintFA: "مطمئن شوید که خود صاحب کد ملی ویدئو را ضبط می‌کند.",
		HintEN: "Make sure the holder of the national ID records the video."},
	ReferenceUnusable: {Kind: KindMatch,
		FA:     "تصویر ثبت احوال برای مقایسه خودکار مناسب نیست.",
		EN:     "The civil-registry photo is not usable for automatic comparison.",
		HintFA: "درخواست شما توسط کارشناس بررسی می‌شود.",
		HintEN: "An operator will review your request."},
	OperatorRejected: {Kind: KindReview,
		FA:     "کارشناس بررسی، ویدئوی شما را تأیید نکرد.",
		EN:     "The reviewing operator did not accept your video.",
		HintFA: "در صورت باقی‌ماندن فرصت، ویدئوی جدیدی ضبط کنید.",
		HintEN: "If you have attempts left, record a new video."},
	BorderlineLiveness: {Kind: KindReview,
		FA:     "تشخیص زنده بودن قطعی نبود و ویدئو برای بررسی کارشناس ارسال شد.",
		EN:     "Liveness was not conclusive; the video was sent to an operator.",
		HintFA: "نتیجه پس از بررسی کارشناس اعلام می‌شود.",
		HintEN: "The result will be announced after the review."},
	BorderlineMatch: {Kind: KindReview,
		FA:     "مقایسه چهره قطعی نبود و ویدئو برای بررسی کارشناس ارسال شد.",
		EN:     "The face comparison was not conclusive; the video was sent to an operator.",
		HintFA: "نتیجه پس از بررسی کارشناس اعلام می‌شود.",
		HintEN: "The result will be announced after the review."},
}

func init() {
	// Fill the Code field from the key so entries cannot disagree with it.
	for c, in := range catalogue {
		in.Code = c
		catalogue[c] = in
	}
}

// Lookup returns the catalogue entry of c.
func Lookup(c Code) (Info, bool) {
	in, ok := catalogue[c]
	return in, ok
}

// Known reports whether c is in the catalogue.
func (c Code) Known() bool {
	_, ok := catalogue[c]
	return ok
}

// Message returns the message of c in lang, or the code itself for an
// unknown code (so a host never shows an empty string).
func (c Code) Message(lang Lang) string {
	in, ok := catalogue[c]
	if !ok {
		return string(c)
	}
	if lang == English {
		return in.EN
	}
	return in.FA
}

// Hint returns what the applicant should do next, in lang.
func (c Code) Hint(lang Lang) string {
	in, ok := catalogue[c]
	if !ok {
		return ""
	}
	if lang == English {
		return in.HintEN
	}
	return in.HintFA
}

// Kind returns the stage that produces c ("" for an unknown code).
func (c Code) Kind() Kind { return catalogue[c].Kind }

// InPerson reports whether c sends the applicant to a service centre.
func (c Code) InPerson() bool { return catalogue[c].InPerson }

// String returns the code.
func (c Code) String() string { return string(c) }

// UnmarshalJSON accepts only catalogued codes, so a typo in stored data is
// an error rather than a silent new reason.
func (c *Code) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("reason: %w", err)
	}
	if !Code(s).Known() {
		return fmt.Errorf("reason: unknown code %q", s)
	}
	*c = Code(s)
	return nil
}

// All returns the whole catalogue sorted by kind, then code.
func All() []Info {
	out := make([]Info, 0, len(catalogue))
	for _, in := range catalogue {
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return kindOrder(out[i].Kind) < kindOrder(out[j].Kind)
		}
		return out[i].Code < out[j].Code
	})
	return out
}

func kindOrder(k Kind) int {
	switch k {
	case KindPolicy:
		return 0
	case KindQuality:
		return 1
	case KindLiveness:
		return 2
	case KindMatch:
		return 3
	default:
		return 4
	}
}

// AnyInPerson reports whether any of codes sends the applicant to a centre.
func AnyInPerson(codes []Code) bool {
	for _, c := range codes {
		if c.InPerson() {
			return true
		}
	}
	return false
}
