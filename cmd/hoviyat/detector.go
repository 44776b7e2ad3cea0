package main

import (
	"errors"

	"github.com/hoviyat/hoviyat/liveness"
)

// newDetector builds the liveness detector from the models in dir.
//
// liveness/cv has not landed yet; until it does the CLI cannot judge
// videos and says so with an internal error.
func newDetector(dir string) (liveness.Detector, func() error, error) {
	return nil, nil, &cliError{Code: codeInternal, Err: errors.New("hoviyat: liveness/cv detector not available in this build yet")}
}
