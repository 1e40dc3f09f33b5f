package guard

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The calibration tables in doc.go come from
//
//	go test ./migrate/guard/ -run 'TestCalibration' -v -calibrate
//
// (this test and TestCalibrationProcessDelay).
// Without -calibrate the test runs a small sample and checks the properties
// the package doc promises.
var calibrate = flag.Bool("calibrate", false, "print the guard's calibration table (slow)")

// arl returns the average run length, in operations, of a per-operation
// Bernoulli CUSUM (steps up on a bad operation, down < 0 on a good one,
// floored at 0, trips when S > h) started at 0 when each operation is bad
// with probability p. The score is put on a lattice of |down|: a good
// operation is one cell down, a bad one ceil(up/|down|) cells up, which
// rounds towards tripping. Because the guard floors and checks its score
// only once per window, its run lengths are no shorter than these.
//
// The linear system L(k) = 1 + q·L(max(k-1, 0)) + p·L(k+A), L(k) = 0 for
// k >= K, is solved from the top down, writing L(k) = a(k) + b(k)·L(k-1).
func arl(p, up, down, h float64) float64 {
	d := -down
	A := int(math.Ceil(up / d))
	K := int(math.Floor(h/d)) + 1
	q := 1 - p
	a := make([]float64, K)
	b := make([]float64, K)
	for k := K - 1; k >= 1; k-- {
		if k+A >= K {
			a[k], b[k] = 1, q
			continue
		}
		// L(k+A) = C + D·L(k), by composing the rows above k.
		C, D := 0.0, 1.0
		for j := k + A; j > k; j-- {
			C += D * a[j]
			D *= b[j]
		}
		den := 1 - p*D
		a[k], b[k] = (1+p*C)/den, q/den
	}
	if A >= K {
		return 1 / p
	}
	C, D := 0.0, 1.0
	for j := A; j > 0; j-- {
		C += D * a[j]
		D *= b[j]
	}
	return (1 + p*C) / (p * (1 - D))
}

func TestARLAgainstSimulation(t *testing.T) {
	// A small threshold keeps the simulated run lengths short.
	c := newCUSUM(ReasonErrorRate, CUSUM{P0: 0.05, P1: 0.1, H: 2}, failures)
	r := rand.New(rand.NewPCG(3, 4))
	for _, p := range []float64{0.05, 0.1, 0.2} {
		const runs = 20_000
		total := 0.0
		for range runs {
			s, n := 0.0, 0
			for s <= c.h {
				n++
				if r.Float64() < p {
					s += c.up
				} else {
					s = max(0, s+c.down)
				}
			}
			total += float64(n)
		}
		sim, got := total/runs, arl(p, c.up, c.down, c.h)
		// The lattice rounds jumps up, so arl may be a little shorter.
		if got > sim*1.05 || got < sim*0.85 {
			t.Errorf("p=%v: arl got %.1f, simulated %.1f", p, got, sim)
		}
	}
}

// simResult is what simulated runs found: the windows each tripping run
// took, and the runs (and their windows) that never tripped.
type simResult struct {
	trips        []int
	cleanRuns    int
	cleanWindows int
}

// delays runs the guard on a fake clock at 1,000 operations per second
// (100 per window) with bad rate p on one signal until it trips, up to runs
// runs of at most perRun windows and budget windows in all.
func delays(t *testing.T, sig Reason, p float64, runs, perRun, budget int, seed uint64) simResult {
	t.Helper()
	tr := traffic{perWindow: 100}
	switch sig {
	case ReasonErrorRate:
		tr.fail = p
	case ReasonLatency:
		tr.slow = p
	case ReasonAvailability:
		tr.fail, tr.down = p, 1
	}
	r := rand.New(rand.NewPCG(seed, 0))
	var res simResult
	for ; runs > 0 && budget > 0; runs-- {
		g, _ := newTestGuard(t, Settings{})
		limit := min(perRun, budget)
		w, ok := runCounts(g, limit, func() counts { return tr.drawWindow(r) })
		if !ok {
			res.cleanRuns++
			res.cleanWindows += limit
			budget -= limit
			continue
		}
		// Unavailable operations are failures too: at high rates the
		// error-rate score may cross first.
		if got := g.last.Reason; got != sig && (sig != ReasonAvailability || got != ReasonErrorRate) {
			t.Fatalf("%s at %v: tripped on %s", sig, p, got)
		}
		res.trips = append(res.trips, w)
		budget -= w
	}
	return res
}

func TestCalibration(t *testing.T) {
	d, err := Settings{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		sig   Reason
		c     CUSUM
		mults []float64 // true bad rate as a multiple of P1
	}{
		{ReasonErrorRate, d.ErrorRate, []float64{0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 5, 10}},
		{ReasonAvailability, d.Availability, []float64{0.1, 0.25, 0.5, 0.75, 1, 2, 5, 10, 50}},
	}
	// Without -calibrate: only the rows checkCalibration holds to a promise,
	// kept cheap enough for -race.
	runs, budget := 50, 10_000
	quick := func(m float64) bool { return m == 0.1 || m == 5 }
	if *calibrate {
		runs, budget = 10_000, 10_000_000
		quick = func(float64) bool { return true }
	}
	var out strings.Builder
	fmt.Fprintf(&out, "| %-12s | %7s | %9s | %9s | %8s | %7s | %7s | %7s |\n",
		"signal", "rate", "pause ARL", "trip ARL", "mean s", "p50 s", "p99 s", "≤0.5 s")
	for _, rw := range rows {
		c := newCUSUM(rw.sig, rw.c, nil)
		for i, m := range rw.mults {
			if !quick(m) {
				continue
			}
			p := m * rw.c.P1
			L := arl(p, c.up, c.down, c.h)
			res := delays(t, rw.sig, p, runs, budget, budget, uint64(i))
			fmt.Fprintf(&out, "| %-12s | %6.3g%% | %9.3g | %9.3g | %s |\n",
				rw.sig, 100*p, arl(p, c.up, c.down, c.pause), L, res)
			checkCalibration(t, rw.sig, m, L, res)
		}
	}
	t.Logf("calibration at 1,000 ops/s, 100 ms windows, default settings; ARL in operations:\n%s", out.String())
}

// checkCalibration holds the defaults to the package doc's promises.
func checkCalibration(t *testing.T, sig Reason, mult, arlOps float64, res simResult) {
	t.Helper()
	switch {
	case mult <= 0.1:
		if arlOps < 1e11 || len(res.trips) > 0 {
			t.Errorf("%s at %v×limit: ARL got %.3g operations and %d simulated trips, want >= 1e11 and none",
				sig, mult, arlOps, len(res.trips))
		}
	case mult >= 5 && sig == ReasonErrorRate:
		if p99 := quantile(res.trips, 0.99); res.cleanRuns > 0 || p99 > 5 {
			t.Errorf("%s at %v×limit: p99 delay got %d windows with %d runs not tripping, want <= 5 and none",
				sig, mult, p99, res.cleanRuns)
		}
	}
}

// String formats the delays in seconds at 1,000 ops/s as table cells. Fewer
// than 20 trips give dashes; a run cut short by the end of the budget is
// left out of the statistics.
func (r simResult) String() string {
	if len(r.trips) < 20 {
		return fmt.Sprintf("%8s | %7s | %7s | %7s | %d trips in %.2g ops",
			"-", "-", "-", "-", len(r.trips), 100*float64(r.cleanWindows+sum(r.trips)))
	}
	fast := 0
	for _, w := range r.trips {
		if w <= 5 {
			fast++
		}
	}
	return fmt.Sprintf("%8.3g | %7.3g | %7.3g | %6.2f%%",
		0.1*float64(sum(r.trips))/float64(len(r.trips)), 0.1*float64(quantile(r.trips, 0.5)),
		0.1*float64(quantile(r.trips, 0.99)), 100*float64(fast)/float64(len(r.trips)))
}

func sum(w []int) int {
	s := 0
	for _, v := range w {
		s += v
	}
	return s
}

func quantile(w []int, q float64) int {
	if len(w) == 0 {
		return 0
	}
	s := slices.Clone(w)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
