package guard

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessionmigrate/sessionmigrate/internal/clocktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a manual clock for Settings.Now whose Advance also returns
// the new time, for g.Tick(clk.Advance(window)). Only one goroutine may
// advance it.
type fakeClock struct{ *clocktest.Clock }

func newFakeClock() *fakeClock {
	return &fakeClock{clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))}
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.Clock.Advance(d)
	return c.Now()
}

// traffic is simulated load on the distributed store.
type traffic struct {
	perWindow int     // operations per 100 ms window
	fail      float64 // P(Failure or Unavailable)
	down      float64 // P(Unavailable | failed)
	slow      float64 // P(latency > SlowThreshold)
}

const (
	fast = 2 * time.Millisecond
	slow = 100 * time.Millisecond // twice the default threshold
)

// recordWindow calls Record once per operation, drawing each outcome.
func (tr traffic) recordWindow(g *Guard, r *rand.Rand) {
	for range tr.perWindow {
		o := Success
		if r.Float64() < tr.fail {
			o = Failure
			if r.Float64() < tr.down {
				o = Unavailable
			}
		}
		lat := fast + time.Duration(r.IntN(1000))
		if r.Float64() < tr.slow {
			lat = slow
		}
		g.Record(o, lat)
	}
}

// drawWindow draws one window's counts from the binomial distributions the
// per-operation draws of recordWindow follow.
func (tr traffic) drawWindow(r *rand.Rand) counts {
	n := uint64(tr.perWindow)
	f := binomial(r, n, tr.fail)
	return counts{ops: n, fail: f, down: binomial(r, f, tr.down), slow: binomial(r, n, tr.slow)}
}

// binomial draws from Binomial(n, p) by the waiting-time method: the gaps
// between successes are geometric, so a draw costs O(n·min(p, 1-p) + 1).
func binomial(r *rand.Rand, n uint64, p float64) uint64 {
	switch {
	case p <= 0 || n == 0:
		return 0
	case p >= 1:
		return n
	case p > 0.5:
		return n - binomial(r, n, 1-p)
	}
	lq := math.Log1p(-p)
	var k, i uint64
	for {
		// Trials up to and including the next success; 1-Float64 is in (0, 1].
		gap := math.Floor(math.Log(1-r.Float64())/lq) + 1
		if gap > float64(n-i) {
			return k
		}
		i += uint64(gap)
		k++
	}
}

// run ticks the guard every 100 ms of fake time for up to windows windows,
// calling feed before each tick, and returns how many windows passed until
// the guard tripped (0 and false if it never did).
func run(g *Guard, clk *fakeClock, windows int, feed func()) (int, bool) {
	for w := 1; w <= windows; w++ {
		feed()
		g.Tick(clk.Advance(100 * time.Millisecond))
		if g.Tripped() {
			return w, true
		}
	}
	return 0, false
}

// runCounts is run for simulated windows of counts drawn by draw, handed to
// the guard as if Record had counted them and Tick drained them: the cheap
// way to simulate billions of operations. It keeps its own time, one window
// per 100 ms from the guard's start.
func runCounts(g *Guard, windows int, draw func() counts) (int, bool) {
	now := g.lastTick
	for w := 1; w <= windows; w++ {
		now = now.Add(100 * time.Millisecond)
		g.tick(now, draw())
		if g.Tripped() {
			return w, true
		}
	}
	return 0, false
}

// newTestGuard returns a guard on a fake clock with s's other settings.
func newTestGuard(t testing.TB, s Settings) (*Guard, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	s.Now = clk.Now
	g, err := New(s)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g, clk
}

func TestBinomialSampler(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		n uint64
		p float64
	}{{100, 0.001}, {100, 0.05}, {100, 0.7}, {60, 0.5}, {7, 1}, {7, 0}} {
		const draws = 100_000
		var sum, sq float64
		for range draws {
			k := binomial(r, tc.n, tc.p)
			if k > tc.n {
				t.Fatalf("Bin(%d, %v) drew %d > n", tc.n, tc.p, k)
			}
			sum += float64(k)
			sq += float64(k) * float64(k)
		}
		mean, wantMean := sum/draws, float64(tc.n)*tc.p
		v, wantVar := sq/draws-mean*mean, wantMean*(1-tc.p)
		tol := 5*math.Sqrt(wantVar/draws) + 1e-12
		if math.Abs(mean-wantMean) > tol {
			t.Errorf("Bin(%d, %v): mean got %.4f, want %.4f ± %.4f", tc.n, tc.p, mean, wantMean, tol)
		}
		if math.Abs(v-wantVar) > 0.05*wantVar+1e-12 {
			t.Errorf("Bin(%d, %v): variance got %.4f, want %.4f ± 5%%", tc.n, tc.p, v, wantVar)
		}
	}
}
