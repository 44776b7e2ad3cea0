package sqlstore

import "context"

// Retry exposes the retry loop to the external tests.
func (s *Store) Retry(ctx context.Context, fn func() error) error { return s.retry(ctx, "test", fn) }
