package guard

import (
	"testing"
	"time"
)

// Latencies vary as measured ones do, which spreads callers over stripes.
func BenchmarkRecord(b *testing.B) {
	for _, bc := range []struct {
		name string
		o    Outcome
		base time.Duration
	}{
		{"success", Success, time.Millisecond},
		{"slow", Success, 60 * time.Millisecond},
		{"failure", Failure, time.Millisecond},
		{"canceled", Canceled, time.Millisecond},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g := benchGuard(b)
			b.ReportAllocs()
			i := time.Duration(0)
			for b.Loop() {
				i++
				g.Record(bc.o, bc.base+i)
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			g := benchGuard(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := time.Duration(0)
				for pb.Next() {
					i += 7
					g.Record(bc.o, bc.base+i)
				}
			})
		})
	}
}

func BenchmarkTick(b *testing.B) {
	g := benchGuard(b)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		g.Record(Success, time.Millisecond)
		now = now.Add(100 * time.Millisecond)
		g.Tick(now)
	}
}

func BenchmarkScores(b *testing.B) {
	g := benchGuard(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = g.Scores()
	}
}

// benchGuard never trips inline, so the failure benchmark measures the
// counting path and not the trip.
func benchGuard(b *testing.B) *Guard {
	g, err := New(Settings{ConsecutiveFailures: maxCount})
	if err != nil {
		b.Fatal(err)
	}
	return g
}
