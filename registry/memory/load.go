package memory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hoviyat/hoviyat/registry"
)

// LoadOption configures LoadDir. Options are pure functions of their
// arguments and may be shared between goroutines.
type LoadOption func(*loadConfig)

type loadConfig struct {
	photoRoot    string
	maxPhotoSize int64
}

// WithPhotoRoot resolves relative "photo" paths against root instead of
// the records' directory. Absolute paths are used as they are.
func WithPhotoRoot(root string) LoadOption {
	return func(c *loadConfig) { c.photoRoot = root }
}

// WithMaxPhotoSize rejects photos larger than n bytes (default 10 MiB).
func WithMaxPhotoSize(n int64) LoadOption {
	return func(c *loadConfig) { c.maxPhotoSize = n }
}

// defaultMaxPhotoSize is far above any registry photo; it only guards
// against a path pointing at the wrong (huge) file.
const defaultMaxPhotoSize = 10 << 20

// record is one person's file (see the package documentation).
type record struct {
	NationalID string   `json:"national_id"`
	FirstName  string   `json:"first_name"`
	LastName   string   `json:"last_name"`
	FatherName string   `json:"father_name"`
	Gender     string   `json:"gender"`
	BirthDate  string   `json:"birth_date"`
	Alive      *bool    `json:"alive"`
	Native     *bool    `json:"native"`
	Photo      string   `json:"photo"`
	Mobiles    []string `json:"mobiles"`
}

// LoadDir adds every person in dir (see the package documentation for the
// format) and registers their mobiles. It reads and checks everything
// before changing r, so on error r is unchanged. Records replace stored
// people with the same national ID, and listed mobiles move to their new
// owner as with SetMobile (within one directory a mobile may be listed
// once). Errors name the offending file.
func (r *Registry) LoadDir(dir string, opts ...LoadOption) error {
	cfg := loadConfig{maxPhotoSize: defaultMaxPhotoSize}
	for _, o := range opts {
		o(&cfg)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("memory: load: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".json") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)

	people := make([]registry.Person, 0, len(names))
	mobiles := make(map[registry.Mobile]registry.NationalID)
	seen := make(map[registry.NationalID]string)
	for _, name := range names {
		p, ms, err := loadRecord(dir, name, cfg)
		if err != nil {
			return fmt.Errorf("memory: load %s: %w", name, err)
		}
		if prev, dup := seen[p.NationalID]; dup {
			return fmt.Errorf("memory: load %s: national ID %s already in %s", name, p.NationalID.Masked(), prev)
		}
		seen[p.NationalID] = name
		for _, m := range ms {
			if owner, dup := mobiles[m]; dup {
				return fmt.Errorf("memory: load %s: mobile %s already registered to %s", name, m.Masked(), owner.Masked())
			}
			mobiles[m] = p.NationalID
		}
		people = append(people, p)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range people {
		r.people[p.NationalID] = p
	}
	for m, id := range mobiles {
		r.mobiles[m] = id
	}
	return nil
}

func loadRecord(dir, name string, cfg loadConfig) (registry.Person, []registry.Mobile, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return registry.Person{}, nil, err
	}
	var rec record
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return registry.Person{}, nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return registry.Person{}, nil, errors.New("data after the JSON object")
	}

	id, err := registry.ParseNationalID(rec.NationalID)
	if err != nil {
		return registry.Person{}, nil, err
	}
	if rec.BirthDate == "" {
		return registry.Person{}, nil, errors.New("birth_date is required")
	}
	birth, err := registry.ParseDate(rec.BirthDate)
	if err != nil {
		return registry.Person{}, nil, err
	}
	if rec.Alive == nil || rec.Native == nil {
		return registry.Person{}, nil, errors.New("alive and native are required")
	}
	p := registry.Person{
		NationalID: id,
		FirstName:  rec.FirstName,
		LastName:   rec.LastName,
		FatherName: rec.FatherName,
		Gender:     registry.Gender(rec.Gender),
		BirthDate:  birth,
		Alive:      *rec.Alive,
		Native:     *rec.Native,
	}
	if rec.Photo != "" {
		if p.Photo, err = readPhoto(dir, rec.Photo, cfg); err != nil {
			return registry.Person{}, nil, err
		}
	}
	if err := validPerson(p); err != nil {
		return registry.Person{}, nil, err
	}
	ms := make([]registry.Mobile, 0, len(rec.Mobiles))
	for _, s := range rec.Mobiles {
		m, err := registry.ParseMobile(s)
		if err != nil {
			return registry.Person{}, nil, err
		}
		ms = append(ms, m)
	}
	return p, ms, nil
}

func readPhoto(dir, path string, cfg loadConfig) ([]byte, error) {
	if !filepath.IsAbs(path) {
		root := dir
		if cfg.photoRoot != "" {
			root = cfg.photoRoot
		}
		path = filepath.Join(root, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("photo: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, cfg.maxPhotoSize+1))
	if err != nil {
		return nil, fmt.Errorf("photo: %w", err)
	}
	if int64(len(b)) > cfg.maxPhotoSize {
		return nil, fmt.Errorf("photo %s is larger than %d bytes", path, cfg.maxPhotoSize)
	}
	if ct := http.DetectContentType(b); ct != "image/jpeg" && ct != "image/png" {
		return nil, fmt.Errorf("photo %s is %s, want JPEG or PNG", path, ct)
	}
	return b, nil
}
