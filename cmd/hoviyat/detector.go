package main

import (
	"github.com/hoviyat/hoviyat/liveness"
	"github.com/hoviyat/hoviyat/liveness/cv"
)

// newDetector builds the liveness detector from the models in dir with
// its default thresholds.
func newDetector(dir string) (liveness.Detector, func() error, error) {
	d, err := cv.New(cv.Config{ModelsDir: dir})
	if err != nil {
		return nil, nil, err
	}
	return d, d.Close, nil
}
