package facematch

import "math"

// Fusion turns the similarities of several probes with one reference
// into one score. Implementations must not modify their argument and must
// be safe for concurrent use (the ones here are pure).
type Fusion func(similarities []float64) float64

// MeanTopK returns a Fusion averaging the k highest similarities (all of
// them when there are fewer). Averaging the best few frames rewards a
// consistent match and is less exposed than the maximum to one lucky
// frame. k < 1 is treated as 1. NaN values are ignored; no values gives
// NaN.
func MeanTopK(k int) Fusion {
	if k < 1 {
		k = 1
	}
	return func(s []float64) float64 {
		d := sortedDesc(s)
		if len(d) == 0 {
			return math.NaN()
		}
		n := min(k, len(d))
		var sum float64
		for _, v := range d[:n] {
			sum += v
		}
		return sum / float64(n)
	}
}

// Max is the Fusion taking the highest similarity (NaN for none).
func Max(s []float64) float64 {
	d := sortedDesc(s)
	if len(d) == 0 {
		return math.NaN()
	}
	return d[0]
}

// Median is the Fusion taking the median similarity (NaN for none).
func Median(s []float64) float64 {
	d := sortedAsc(s)
	n := len(d)
	switch {
	case n == 0:
		return math.NaN()
	case n%2 == 1:
		return d[n/2]
	default:
		return (d[n/2-1] + d[n/2]) / 2
	}
}

// Cosine returns the cosine similarity of two vectors of equal length
// (0 when either is zero or the lengths differ).
func Cosine(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// L2Normalize scales v in place to unit length (a zero vector is left as
// is) and returns it.
func L2Normalize(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 {
		return v
	}
	inv := 1 / math.Sqrt(n)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return v
}

// SortDesc returns a sorted copy of the similarities, highest first, with
// NaN values dropped (for Score.PerProbe).
func SortDesc(s []float64) []float64 {
	return sortedDesc(s)
}
