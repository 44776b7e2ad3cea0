package httpreg

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/hoviyat/hoviyat/registry"
)

// Paths of the version 1 protocol, relative to the base URLs.
const (
	LookupPath    = "/v1/civil/lookup"
	OwnershipPath = "/v1/mobile/ownership"
)

// ErrorCodeNotFound is the "error" code of a lookup's 404 answer.
const ErrorCodeNotFound = "not_found"

// LookupRequest is the body of a civil-registry lookup. The wire types are
// plain values for encoding/json, with no concurrency of their own.
type LookupRequest struct {
	NationalID registry.NationalID `json:"national_id"`
	BirthDate  registry.Date       `json:"birth_date"`
}

// OwnershipRequest is the body of a mobile-ownership check.
type OwnershipRequest struct {
	NationalID registry.NationalID `json:"national_id"`
	Mobile     registry.Mobile     `json:"mobile"`
}

// OwnershipResponse is the 200 body of a mobile-ownership check.
type OwnershipResponse struct {
	Owned bool `json:"owned"`
}

// ErrorResponse is the body of every non-200 answer.
type ErrorResponse struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
}

// The lookup's 200 body is registry.Person's JSON encoding: servers may
// write json.Marshal(person).

// objectFields decodes a JSON object strictly: exact key names, each at
// most once, none unknown, required ones present, no null values, nothing
// after the object. set is called with each raw value.
func objectFields(body []byte, allowed map[string]bool, set func(key string, raw json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("want a JSON object")
	}
	seen := make(map[string]bool, len(allowed))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string) // object keys are always strings
		if _, ok := allowed[key]; !ok {
			return fmt.Errorf("unknown field %q", key)
		}
		if seen[key] {
			return fmt.Errorf("repeated field %q", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if string(raw) == "null" {
			return fmt.Errorf("field %q is null", key)
		}
		if err := set(key, raw); err != nil {
			return fmt.Errorf("field %q: %w", key, err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON object")
	}
	for key, required := range allowed {
		if required && !seen[key] {
			return fmt.Errorf("missing field %q", key)
		}
	}
	return nil
}

var personFields = map[string]bool{
	"national_id": true, "first_name": true, "last_name": true, "father_name": false,
	"gender": true, "birth_date": true, "alive": true, "native": true, "photo": false,
}

// decodePerson decodes a lookup's 200 body and checks it answers the
// question asked.
func decodePerson(body []byte, id registry.NationalID, birth registry.Date) (registry.Person, error) {
	var p registry.Person
	err := objectFields(body, personFields, func(key string, raw json.RawMessage) error {
		var s string
		switch key {
		case "alive":
			return json.Unmarshal(raw, &p.Alive)
		case "native":
			return json.Unmarshal(raw, &p.Native)
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		switch key {
		case "national_id":
			p.NationalID = registry.NationalID(s)
		case "first_name":
			p.FirstName = s
		case "last_name":
			p.LastName = s
		case "father_name":
			p.FatherName = s
		case "gender":
			p.Gender = registry.Gender(s)
		case "birth_date":
			d, err := registry.ParseDate(s)
			if err != nil {
				return err
			}
			p.BirthDate = d
		case "photo":
			b, err := base64.StdEncoding.Strict().DecodeString(s)
			if err != nil {
				return err
			}
			if len(b) > 0 {
				if ct := http.DetectContentType(b); ct != "image/jpeg" && ct != "image/png" {
					return fmt.Errorf("photo is %s, want JPEG or PNG", ct)
				}
				p.Photo = b
			}
		}
		return nil
	})
	if err != nil {
		return registry.Person{}, err
	}
	switch {
	case p.NationalID != id:
		return registry.Person{}, errors.New("answer is for another national ID")
	case p.BirthDate != birth:
		return registry.Person{}, errors.New("answer has another birth date")
	case p.Gender != registry.Male && p.Gender != registry.Female:
		return registry.Person{}, fmt.Errorf("unknown gender %q", p.Gender)
	}
	return p, nil
}

var ownershipFields = map[string]bool{"owned": true}

func decodeOwnership(body []byte) (bool, error) {
	var owned bool
	err := objectFields(body, ownershipFields, func(_ string, raw json.RawMessage) error {
		return json.Unmarshal(raw, &owned)
	})
	return owned, err
}

var errorFields = map[string]bool{"error": true, "message": false}

// decodeError reads an error body's code, or "" when the body is not one.
func decodeError(body []byte) string {
	var code string
	err := objectFields(body, errorFields, func(key string, raw json.RawMessage) error {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		if key == "error" {
			code = s
		}
		return nil
	})
	if err != nil {
		return ""
	}
	return code
}
