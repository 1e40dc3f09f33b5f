// Package guard is the per-instance automatic rollback detector: it watches
// this instance's operations on the distributed store and decides, on
// evidence, when the instance must stop relying on it. It is pure Go and
// does no I/O but its own probe's pipe (see Process delay); the Migrator
// swaps routing, publishes the rollback and exports metrics from the
// guard's callbacks and scores.
//
//	g, err := guard.New(guard.Settings{OnTrip: rollback, OnStateChange: setGauge})
//	if err != nil { ... }
//	g.Start()       // evaluates every 100 ms, probes the process every 5 ms
//	defer g.Close()
//
//	start := time.Now()
//	rec, found, err := distributed.Get(opCtx, id)
//	g.Record(guard.Classify(reqCtx, err), time.Since(start))
//
// Record is the hot path: one atomic add into a striped counter, no lock, no
// allocation (about 5 ns; see BenchmarkRecord). Only an operation slower
// than the threshold reads the probe's stall log. Everything else happens
// in Tick, which Start's goroutine calls every Settings.Interval and tests
// call with a fake clock.
//
// # Outcomes
//
// The caller classifies each operation (Classify has the usual rules):
// Success; Failure, an error reply or any error not connection-class;
// Unavailable, no answer at all (refused, reset or closed connection, dial
// or DNS error), which also counts as a failure; Timeout, no answer before
// the operation's own deadline, which counts as Unavailable unless the
// process's own delay explains it; and Canceled, the caller's own context
// ended, which is not counted anywhere because it says nothing about the
// store.
//
// # Signals
//
// consecutive_failures: the Settings.ConsecutiveFailures-th (8th) failure in
// a row trips the guard inside Record, before it returns, so a hard outage
// trips within 8 operations whatever the traffic.
//
// error_rate: the share of Failure and Unavailable operations; limit 1%.
//
// latency: the share of operations slower than Settings.SlowThreshold
// (50 ms) net of the process's own delay (below); limit 1%, which is "p99 >
// 50 ms".
//
// availability: the share of Unavailable operations; limit 0.1%, which is
// "availability < 99.9%". A store that answers with errors moves only the
// error rate; a store that cannot be reached moves both.
//
// inconsistency: confirmed inconsistencies reported by the consistency
// checker through ReportInconsistency. Settings.InconsistencyLimit (3) within
// Settings.InconsistencyWindow (one minute) trip at once; the first pauses.
//
// manual: Trip, for a rollback an operator or the Migrator decides.
//
// # Process delay
//
// A latency measured in the process is the store's time plus the
// process's own: an answer that arrives while the process waits for a CPU
// (a busy host, a stop-the-world pause, a long run queue) is read late
// although the store was fast, and a deadline that passes meanwhile
// fails an operation whose answer was waiting. A slow process is not a
// slow store, and rolling back would not make it faster.
//
// So Start also runs a probe that measures the process's own delay at the
// same moment, along the path an answer takes: every
// Settings.ProbeInterval (5 ms) a timer wakes it and it sends a byte
// through a pipe to its own reader, which the netpoller wakes as it wakes
// a goroutine waiting for the store. How late the byte is read after the
// timer was due is a stall of the process. Record sets each operation
// slower than SlowThreshold against the stalls overlapping it:
//
//   - an answer that is slower than the threshold only by the stalls
//     overlapping it counts as a fast operation (Window.Delayed counts
//     it). All of them count: one wait for a CPU can span several of the
//     probe's cycles, and a process stalled for most of an operation
//     cannot tell its own delay from the store's.
//   - a Timeout slower than the threshold only by the longest stall
//     overlapping it is inconclusive, since the answer may have come
//     during that stall and waited: it counts nowhere, neither in the
//     rates nor in the consecutive-failure run. Only the longest: stalls
//     while the answer was still due excuse nothing, so a store that stops
//     answering still trips the guard of a process starved much of the
//     time.
//   - failures that are not timeouts (refused, reset, error replies) count
//     whatever the process did, and a Timeout with no stall behind it
//     counts as before: a store that is down or hangs trips as fast as it
//     did.
//
// The probe costs an idle process about 0.3% of a core on a small VM
// (measured once idle: 0.6-0.7% with it, 0.28% without), because it slows
// to one wake-up per Interval after a second without an operation; at 200
// wake-ups a second it cost 2-3%, mostly the runtime's monitor kept awake.
// In a process serving traffic the difference was lost in the noise.
//
// What the probe cannot see is not excused: a store on the same starved
// host (a redis-server beside CPU hogs) is late for every client, and that
// is a slow store. The price is in the other direction: while the process
// itself waits for a CPU much of the time, a store that answers late but
// within the per-operation timeout is not told apart and the latency
// signal holds; its timeouts still count. Settings.DisableProbe judges
// latencies as measured.
//
// The effect, from the simulation below (see Calibration): a healthy store
// beside a process that pauses 150 ms once a second (a starved VM, a long
// stop-the-world) tripped the guard in 37 s on average through the timeouts
// of the calls in flight, and beside a run queue where every wake-up waits
// 25 ms on average in 0.2 s; with the probe, neither in 10^8 operations. A
// slow or hung store trips as before beside a quiet process, and about as
// fast beside a pausing one or a long run queue, except a store answering
// late within the timeout beside a long run queue: 2% of answers 70 ms late
// beside a 10 ms mean wait is not caught, every answer 70 ms late beside a
// 25 ms wait in 23 s instead of 0.1 s.
//
// # The sequential test
//
// error_rate, latency and availability each run a Bernoulli CUSUM, the
// sequential test that detects a change from rate P0 to rate P1 fastest for a
// given false-alarm rate. For each evaluated window of n operations of which
// k are bad:
//
//	S = max(0, S + k·ln(P1/P0) + (n-k)·ln((1-P1)/(1-P0)))
//
// Each operation adds its log-likelihood ratio, so evidence accumulates in
// proportion to traffic across windows and a window is merely a batch: a
// busy instance decides in fewer windows than a quiet one, on the same
// evidence. The guard trips when S > H and pauses when S > Pause. P1 is the
// limit; P0 = P1/2 is the acceptable rate; the score rises on average only
// while the true rate exceeds about 0.72·P1.
//
// No traffic is inconclusive. A window with fewer than Settings.MinWindowOps
// operations (default 1) leaves every score as it is and carries its
// operations into the next window, so an idle instance never trips and a
// raised score does not fade over a quiet night either.
//
// # Calibration
//
// Defaults: error_rate and latency P0 = 0.5%, P1 = 1%; availability P0 =
// 0.05%, P1 = 0.1%; H = 5 and Pause = 2.5 for all three. Latency behaves as
// error_rate does, reading "slow" for "failed". Produced by
//
//	go test ./migrate/guard/ -run 'TestCalibration' -v -calibrate
//
// "ARL" is the mean number of operations until the score first exceeds Pause
// or H, computed exactly (Markov chain) for a per-operation CUSUM; the guard
// floors and checks its score once per window, so its own run lengths are
// somewhat longer. Delays are from up to 10,000 simulated runs through the
// guard at 1,000 ops/s (100 operations per 100 ms window), in seconds; at
// other loads they scale with 1,000/load. The nominal rows ran 10^9
// simulated operations each.
//
//	signal        true rate  pause ARL  trip ARL  mean s  p50 s  p99 s  ≤0.5 s
//	error_rate      0.1%     1.2e7      1.0e12    no trip in 1e9 operations
//	error_rate      0.25%    1.6e5      1.2e8     2 trips in 1e9 operations
//	error_rate      0.5%     7.4e3      1.1e5     180     128    805    0%
//	error_rate      0.75%    1.9e3      6.3e3     7.4     5.7    28     0.1%
//	error_rate      1%       926        2.2e3     2.4     2.1    7.2    1.4%
//	error_rate      1.5%     432        889       1.0     0.9    2.5    14%
//	error_rate      2%       280        558       0.65    0.6    1.4    42%
//	error_rate      5%       89         174       0.23    0.2    0.4    99.97%
//	error_rate      10%      41         80        0.12    0.1    0.2    100%
//	availability    0.01%    1.2e8      1.2e13    no trip in 1e9 operations
//	availability    0.025%   1.6e6      1.2e9     no trip in 1e9 operations
//	availability    0.05%    7.6e4      1.2e6     1200    805    5500   0%
//	availability    0.075%   1.9e4      6.4e4     66      49     267    0%
//	availability    0.1%     9.4e3      2.2e4     22      19     70     0%
//	availability    0.2%     2.8e3      5.6e3     5.8     5.3    14     0%
//	availability    0.5%     899        1.8e3     1.8     1.8    3.8    0.5%
//	availability    1%       409        808       0.87    0.8    1.8    14%
//	availability    5%       80         160       0.21    0.2    0.4    100%
//
// So at 1,000 ops/s: a healthy instance at 0.1% errors false-trips about
// once in 10^12 operations (30 years) and pauses about every 3 hours; at the
// 1% limit it trips in about 2.4 s; at 5% within 0.5 s in 99.97% of runs;
// 100% failures trip in 8 operations. A sustained rate of half the limit
// trips in minutes: the guard is tuned to roll back early, because before
// the complete stage a rollback loses nothing.
//
// The process-delay table simulates, operation by operation through Record
// and the probe's observations, a store and a process at 1,000 ops/s with a
// 100 ms per-operation timeout: whole-process pauses of a fixed length
// (Poisson), or a run queue where every wake-up waits an exponential time
// drawn independently (the probe's worst case: it sees how long waits are,
// never an operation's own wait), and a store that answers in 1 ms, or
// late, or never. Delays to the trip in seconds (mean, p50, p99) over 1,000
// runs, or the trips in 10^8 operations:
//
//	process / store                     without the probe   with the probe
//	60 ms pauses, 5/s                   52, 35, 280         no trip in 1e8 operations
//	150 ms pauses, 1/s                  37, 31, 120         no trip in 1e8 operations
//	300 ms pauses, 1/s                  76, 59, 290         no trip in 1e8 operations
//	run queue, 10 ms mean wait          7.9, 5.9, 31        no trip in 1e8 operations
//	run queue, 25 ms mean wait          0.2, 0.2, 0.3       no trip in 1e8 operations
//	2% 70 ms late                       0.73, 0.7, 1.6      0.73, 0.7, 1.6
//	2% 70 ms late, 150 ms pauses 1/s    0.71, 0.7, 1.5      0.78, 0.7, 1.7
//	2% 70 ms late, 10 ms wait           0.52, 0.5, 1.0      no trip in 1e8 operations
//	all 70 ms late                      0.1, 0.1, 0.1       0.1, 0.1, 0.1
//	all 70 ms late, 60 ms pauses 5/s    0.12, 0.1, 0.2      0.14, 0.1, 0.4
//	all 70 ms late, 25 ms wait          0.1, 0.1, 0.2       23, 16, 120
//	hung                                0.2, 0.2, 0.2       0.2, 0.2, 0.2
//	hung, 300 ms pauses 1/s             0.22, 0.2, 0.4      0.22, 0.2, 0.5
//	hung, 25 ms wait                    0.2, 0.2, 0.2       0.2, 0.2, 0.3
//
// Measured, not simulated: a process at GOMAXPROCS=1 beside three spinning
// goroutines, serving ramp 100 from a redis-server on a free core
// (TestGuardToleratesAStarvedProcess in package migrate, run with -starve),
// sees p99 request latencies of 120-150 ms. Without the probe its guard
// trips within a second, with the probe not in 3 s (18 runs of 19; the
// other tripped on eight slow calls with no stall of the process behind
// them; under -race 2 of 4), and a store 150 ms late still trips it.
//
// # States and callbacks
//
// A Guard starts StateArmed. A score over its Pause threshold, or any
// inconsistency, moves it to StatePaused (a ramp must not advance); it
// re-arms by itself once every score is at or below half its Pause and the
// inconsistencies have aged out. A trip moves it to StateTripped, which
// latches until Reset (the operator's resume); scores keep moving meanwhile
// so the operator can watch the store recover. The evidence of a trip
// (reason, score, threshold, the last window and the run of windows that
// built the score) goes to OnTrip, exactly once per latch, and stays
// available from LastTrip.
//
// Callbacks run outside the guard's locks, on the goroutine that caused the
// change: Record's caller for an inline trip, Start's goroutine for a
// scored trip or pause. They must not block.
//
// # Metrics
//
// The package has no metrics dependency. Scores returns every signal's value
// without allocating, for a gauge per Reason (Scores.Get, Reasons);
// Settings returns the thresholds to compare them with; OnStateChange and
// OnTrip feed a state gauge and a trips counter labelled by Reason. Reason
// values are a small fixed set, safe as label values.
package guard
