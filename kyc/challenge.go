package kyc

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"strings"
)

// challengeWords are short, common Persian words that are easy to read
// aloud and look different from each other. 64 words give 6 bits each.
var challengeWords = [...]string{
	"آب", "آسمان", "باران", "درخت", "دریا", "کوه", "گل", "خورشید",
	"ماه", "ستاره", "باغ", "خانه", "کتاب", "مداد", "دفتر", "پنجره",
	"سیب", "انار", "انگور", "هندوانه", "نان", "پنیر", "چای", "شیر",
	"اسب", "پرنده", "ماهی", "گربه", "کبوتر", "آهو", "ببر", "عقاب",
	"سبز", "آبی", "سفید", "زرد", "قرمز", "روشن", "بهار", "پاییز",
	"زمستان", "تابستان", "صبح", "شب", "امروز", "فردا", "شهر", "روستا",
	"جاده", "پل", "رود", "جنگل", "دشت", "صحرا", "ساحل", "موج",
	"باد", "ابر", "برف", "نسیم", "چراغ", "آینه", "قلم", "کلید",
}

// persianDigits maps 0..9 to Persian digits.
var persianDigits = [...]rune{'۰', '۱', '۲', '۳', '۴', '۵', '۶', '۷', '۸', '۹'}

// ToPersianDigits replaces ASCII digits in s with Persian digits.
func ToPersianDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return persianDigits[r-'0']
		}
		return r
	}, s)
}

// randomInt returns a uniform integer in [0, n) from r.
func randomInt(r io.Reader, n int) (int, error) {
	v, err := rand.Int(r, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("kyc: random: %w", err)
	}
	return int(v.Int64()), nil
}

// newChallenge returns words random Persian words followed by a number of
// digits random Persian digits, e.g. "باران کتاب ساحل ۴۸۲۷".
func newChallenge(r io.Reader, words, digits int) (string, error) {
	parts := make([]string, 0, words+1)
	for i := 0; i < words; i++ {
		k, err := randomInt(r, len(challengeWords))
		if err != nil {
			return "", err
		}
		parts = append(parts, challengeWords[k])
	}
	if digits > 0 {
		var b strings.Builder
		for i := 0; i < digits; i++ {
			k, err := randomInt(r, 10)
			if err != nil {
				return "", err
			}
			b.WriteRune(persianDigits[k])
		}
		parts = append(parts, b.String())
	}
	return strings.Join(parts, " "), nil
}

// newOTPCode returns n uniform random decimal digits.
func newOTPCode(r io.Reader, n int) (string, error) {
	var b strings.Builder
	for i := 0; i < n; i++ {
		k, err := randomInt(r, 10)
		if err != nil {
			return "", err
		}
		b.WriteByte(byte('0' + k))
	}
	return b.String(), nil
}

// newID returns prefix + 32 hex characters of randomness.
func newID(r io.Reader, prefix string) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("kyc: random: %w", err)
	}
	return prefix + hex.EncodeToString(b[:]), nil
}
