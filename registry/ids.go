package registry

// NationalID is a canonical 10-digit Iranian national ID (کد ملی) with a
// valid check digit. Obtain one with ParseNationalID.
type NationalID string

// Mobile is a canonical Iranian mobile number "09xxxxxxxxx". Obtain one
// with ParseMobile.
type Mobile string

// ParseNationalID normalises and validates s. TODO(registry helper).
func ParseNationalID(s string) (NationalID, error) { panic("unimplemented") }

// ParseMobile normalises and validates s. TODO(registry helper).
func ParseMobile(s string) (Mobile, error) { panic("unimplemented") }
