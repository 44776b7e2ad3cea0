package memory_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hoviyat/hoviyat/registry"
	"github.com/hoviyat/hoviyat/registry/memory"
	"github.com/hoviyat/hoviyat/registry/registrytest"
)

// writeFiles creates files (path -> content) under a new temp dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

const saraJSON = `{
  "national_id": "0499370899", "first_name": "سارا", "last_name": "احمدی", "father_name": "رضا",
  "gender": "female", "birth_date": "1370/01/15", "alive": true, "native": true,
  "photo": "photos/sara.jpg", "mobiles": ["09121234567", "+98 935 123 4567"]
}`

func TestLoadDir(t *testing.T) {
	t.Parallel()
	photo := string(registrytest.Photo(7))
	dir := writeFiles(t, map[string]string{
		"0499370899.json": saraJSON,
		"0068415941.json": `{"national_id": "٦٨٤١٥٩٤١", "first_name": "کریم", "last_name": "حیدری",
			"gender": "male", "birth_date": "۱۳۷۵/۰۳/۰۱", "alive": true, "native": false}`,
		"photos/sara.jpg":       photo,
		"photos/ignored.json":   `not read: subdirectories are for photos`,
		"README.txt":            "not a record",
		"photos/nested/x.json":  "{}",
		"zz-not-json.json.bak":  "{}",
		"photos/other-sara.jpg": photo,
	})
	reg := memory.New()
	require.NoError(t, reg.LoadDir(dir))
	assert.Equal(t, 2, reg.Len())

	sara, err := reg.Lookup(t.Context(), "0499370899", registry.Date{Year: 1370, Month: 1, Day: 15})
	require.NoError(t, err)
	assert.Equal(t, registry.Person{
		NationalID: "0499370899", FirstName: "سارا", LastName: "احمدی", FatherName: "رضا",
		Gender: registry.Female, BirthDate: registry.Date{Year: 1370, Month: 1, Day: 15},
		Alive: true, Native: true, Photo: []byte(photo),
	}, sara)

	karim, err := reg.Lookup(t.Context(), "0068415941", registry.Date{Year: 1375, Month: 3, Day: 1})
	require.NoError(t, err)
	assert.False(t, karim.Native)
	assert.Empty(t, karim.Photo)

	for _, m := range []registry.Mobile{"09121234567", "09351234567"} {
		ok, err := reg.Owns(t.Context(), "0499370899", m)
		require.NoError(t, err)
		assert.True(t, ok, m)
	}
}

func TestLoadDirPhotoPaths(t *testing.T) {
	t.Parallel()
	photo := string(registrytest.Photo(3))
	photoRoot := writeFiles(t, map[string]string{"people/sara.jpg": photo})
	abs := filepath.Join(photoRoot, "people", "sara.jpg")
	tests := []struct {
		name  string
		path  string
		opts  []memory.LoadOption
		files map[string]string
	}{
		{"relative to the directory", "img/sara.jpg", nil, map[string]string{"img/sara.jpg": photo}},
		{"relative to the photo root", "people/sara.jpg", []memory.LoadOption{memory.WithPhotoRoot(photoRoot)}, nil},
		{"absolute", abs, nil, nil},
		{"absolute ignores the root", abs, []memory.LoadOption{memory.WithPhotoRoot("/nonexistent")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{"p.json": strings.Replace(saraJSON, "photos/sara.jpg", tt.path, 1)}
			for k, v := range tt.files {
				files[k] = v
			}
			reg := memory.New()
			require.NoError(t, reg.LoadDir(writeFiles(t, files), tt.opts...))
			p, err := reg.Lookup(t.Context(), "0499370899", registry.Date{Year: 1370, Month: 1, Day: 15})
			require.NoError(t, err)
			assert.Equal(t, []byte(photo), p.Photo)
		})
	}
}

func TestLoadDirErrors(t *testing.T) {
	t.Parallel()
	photo := string(registrytest.Photo(1))
	sara := func(old, new string) string {
		s := strings.Replace(saraJSON, old, new, 1)
		if s == saraJSON {
			panic("test edit did not apply: " + old)
		}
		return s
	}
	tests := []struct {
		name  string
		files map[string]string
		opts  []memory.LoadOption
		want  string
	}{
		{"bad checksum", map[string]string{"a.json": sara(`"0499370899"`, `"0499370898"`)}, nil, "checksum"},
		{"unknown field", map[string]string{"a.json": sara(`"alive"`, `"alvie"`)}, nil, "unknown field"},
		{"missing alive", map[string]string{"a.json": sara(`"alive": true,`, ``)}, nil, "alive and native are required"},
		{"missing birth date", map[string]string{"a.json": sara(`"birth_date": "1370/01/15",`, ``)}, nil, "birth_date is required"},
		{"impossible date", map[string]string{"a.json": sara(`1370/01/15`, `1370/07/31`)}, nil, "invalid Solar Hijri date"},
		{"bad gender", map[string]string{"a.json": sara(`"female"`, `"f"`), "photos/sara.jpg": photo}, nil, "unknown gender"},
		{"bad mobile", map[string]string{"a.json": sara(`"09121234567"`, `"02112345678"`), "photos/sara.jpg": photo}, nil, "invalid mobile number"},
		{"trailing data", map[string]string{"a.json": saraJSON + "{}", "photos/sara.jpg": photo}, nil, "data after the JSON object"},
		{"not JSON", map[string]string{"a.json": "national_id=1"}, nil, "invalid character"},
		{"missing photo", map[string]string{"a.json": saraJSON}, nil, "photo"},
		{"photo not an image", map[string]string{"a.json": saraJSON, "photos/sara.jpg": "hello"}, nil, "want JPEG or PNG"},
		{"photo too large", map[string]string{"a.json": saraJSON, "photos/sara.jpg": photo},
			[]memory.LoadOption{memory.WithMaxPhotoSize(100)}, "larger than 100 bytes"},
		{"duplicate person", map[string]string{
			"a.json": sara(`"photo": "photos/sara.jpg", `, ``),
			"b.json": sara(`"photo": "photos/sara.jpg", "mobiles": ["09121234567", "+98 935 123 4567"]`, `"mobiles": []`),
		}, nil, "already in a.json"},
		{"mobile with two owners", map[string]string{
			"a.json": sara(`"photo": "photos/sara.jpg", `, ``),
			"b.json": `{"national_id": "0790419904", "first_name": "علی", "last_name": "رضایی", "gender": "male",
				"birth_date": "1380/06/31", "alive": true, "native": true, "mobiles": ["09121234567"]}`,
		}, nil, "already registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, tt.files)
			reg := memory.New()
			keep := registrytest.DefaultFixtures().People[1]
			require.NoError(t, reg.Add(keep))
			err := reg.LoadDir(dir, tt.opts...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "memory: load "), err.Error())
			// Nothing was loaded: the registry is as before.
			assert.Equal(t, 1, reg.Len())
			ok, oerr := reg.Owns(t.Context(), "0499370899", "09121234567")
			require.NoError(t, oerr)
			assert.False(t, ok)
		})
	}
	assert.Error(t, memory.New().LoadDir(filepath.Join(t.TempDir(), "missing")))
}

// TestLoadDirSharedPhotos loads the committed fixtures in testdata/people,
// whose photos live under $HOVIYAT_DATA, and runs the conformance suite on
// the result.
func TestLoadDirSharedPhotos(t *testing.T) {
	t.Parallel()
	data := os.Getenv("HOVIYAT_DATA")
	if data == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("HOVIYAT_DATA is not set but CI=true: the shared media are required")
		}
		t.Skip("HOVIYAT_DATA not set")
	}
	reg := memory.New()
	require.NoError(t, reg.LoadDir("testdata/people", memory.WithPhotoRoot(data)))
	assert.Equal(t, 3, reg.Len())

	want, err := os.ReadFile(filepath.Join(data, "photos/goface/jimin.jpg"))
	require.NoError(t, err)
	p, err := reg.Lookup(t.Context(), "0499370899", registry.Date{Year: 1370, Month: 1, Day: 15})
	require.NoError(t, err)
	assert.Equal(t, want, p.Photo)

	// The same records as fixtures, for the suite.
	fx := registrytest.Fixtures{Mobiles: map[registry.Mobile]registry.NationalID{
		"09121234567": "0499370899", "09351234567": "0499370899", "09191234567": "0790419904",
	}}
	for _, c := range []struct {
		id    registry.NationalID
		birth registry.Date
	}{
		{"0499370899", registry.Date{Year: 1370, Month: 1, Day: 15}},
		{"0790419904", registry.Date{Year: 1380, Month: 6, Day: 31}},
		{"0013542419", registry.Date{Year: 1340, Month: 11, Day: 20}},
	} {
		p, err := reg.Lookup(t.Context(), c.id, c.birth)
		require.NoError(t, err)
		fx.People = append(fx.People, p)
	}
	assert.False(t, fx.People[2].Alive)
	assert.NotEmpty(t, fx.People[1].Photo)
	require.NoError(t, registrytest.Run(t.Context(), reg, reg, fx))
}
