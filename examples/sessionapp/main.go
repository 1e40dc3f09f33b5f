// Command sessionapp is a small web application whose sessions move from its
// process memory to Redis while it serves. It is the application the demo
// and the end-to-end tests run (several instances at once) and the reference
// for embedding sessionmigrate:
//
//   - a memstore as the local store and a redisstore as the distributed one,
//   - a Migrator following the control plane through its OpenFeature
//     provider, publishing guard trips and heartbeats, and running the
//     control plane's jobs (backfill, diff, repair),
//   - an admin listener with /metrics and /status.
//
// Endpoints: POST /login (new session, cookie "sid"), GET /session (the
// session's counter, 401 when absent), POST /incr (increment, returns the new
// value), POST /rotate (new session id, same data), POST /logout.
//
// On start it prints one line, "sessionapp listening on ADDR admin on ADDR",
// so a supervisor that asked for port 0 can find it.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"

	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/migrate/control"
	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sessionapp:", err)
		os.Exit(1)
	}
}

type config struct {
	listen, admin, redisAddr, controlRedisAddr, instance, prefix, controlPrefix string
	poll, heartbeat, distTimeout                                                time.Duration
	cluster                                                                     bool
}

func parse(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("sessionapp", flag.ContinueOnError)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:0", "HTTP listen address")
	fs.StringVar(&c.admin, "admin", "127.0.0.1:0", "admin (metrics, status) listen address")
	fs.StringVar(&c.redisAddr, "redis-addr", "127.0.0.1:6379", "Redis address for sessions")
	fs.StringVar(&c.controlRedisAddr, "control-redis-addr", "", "Redis address of the control plane (default: -redis-addr)")
	fs.StringVar(&c.instance, "instance", "", "instance id (default: host-pid)")
	fs.StringVar(&c.prefix, "prefix", redisstore.DefaultPrefix, "session key prefix in Redis")
	fs.StringVar(&c.controlPrefix, "control-prefix", control.DefaultPrefix, "control plane key prefix")
	fs.DurationVar(&c.poll, "poll", time.Second, "control plane poll interval (safety net for pub/sub)")
	fs.DurationVar(&c.heartbeat, "heartbeat", time.Second, "heartbeat interval")
	fs.DurationVar(&c.distTimeout, "dist-timeout", 100*time.Millisecond, "timeout of synchronous Redis calls on the request path")
	fs.BoolVar(&c.cluster, "redis-cluster", false, "-redis-addr lists Redis Cluster nodes (comma-separated)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.controlRedisAddr == "" {
		c.controlRedisAddr = c.redisAddr
	}
	if c.instance == "" {
		host, _ := os.Hostname()
		c.instance = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	return c, nil
}

func run(ctx context.Context, args []string) error {
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("instance", cfg.instance)

	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: strings.Split(cfg.redisAddr, ","), IsClusterMode: cfg.cluster,
		ContextTimeoutEnabled: true, MaxRetries: -1, DialTimeout: 200 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: time.Second})
	defer rdb.Close()
	crdb := rdb
	if cfg.controlRedisAddr != cfg.redisAddr {
		crdb = redis.NewClient(&redis.Options{Addr: cfg.controlRedisAddr, ContextTimeoutEnabled: true,
			DialTimeout: 200 * time.Millisecond})
		defer crdb.Close()
	}

	ctl, err := control.New(crdb, control.Options{Prefix: cfg.controlPrefix, Logger: logger, PollInterval: cfg.poll})
	if err != nil {
		return err
	}
	provider := ctl.NewProvider()
	api := isolated.NewAPI()
	initCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = api.SetProviderAndWait(initCtx, provider)
	cancel()
	if err != nil {
		return fmt.Errorf("control plane provider: %w", err)
	}
	defer api.Shutdown(context.Background())

	local := memstore.New()
	defer local.Close()
	dist := redisstore.New(rdb, redisstore.Options{Prefix: cfg.prefix})
	reg := prometheus.NewRegistry()
	m, err := migrate.New(local, dist, migrate.Options{
		Flags:        api.NewClient(),
		PollInterval: cfg.poll,
		DistTimeout:  cfg.distTimeout,
		Registerer:   reg,
		Publisher:    migrate.ControlPublisher(ctl, cfg.instance),
		Logger:       logger,
	})
	if err != nil {
		return err
	}
	defer m.Close()

	collect := m.HeartbeatCollector(cfg.instance, hostname(), "sessionapp")
	hb, err := ctl.NewHeartbeater(control.HeartbeaterOptions{
		Collect: func() control.Heartbeat {
			h := collect()
			// The provider keeps serving the last good state when the
			// stored one is corrupt or unreadable; say so to operators.
			if err := provider.LastError(); err != nil && h.LastStateError == "" {
				h.LastStateError = err.Error()
			}
			return h
		},
		Interval: cfg.heartbeat,
	})
	if err != nil {
		return err
	}
	hb.Start()
	defer hb.Close()
	jobs, err := m.StartJobs(ctl, migrate.JobRunnerOptions{Instance: cfg.instance}) // backfill, diff, repair
	if err != nil {
		return err
	}
	defer jobs.Close()

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return err
	}
	aln, err := net.Listen("tcp", cfg.admin)
	if err != nil {
		return err
	}
	app := &app{s: m}
	srv := &http.Server{Handler: app.routes(), ReadHeaderTimeout: 5 * time.Second}
	adm := &http.Server{Handler: m.AdminHandler(reg), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	go adm.Serve(aln)
	fmt.Printf("sessionapp listening on %s admin on %s\n", ln.Addr(), aln.Addr())
	logger.Info("sessionapp started", "stage", string(m.State().Stage))

	<-ctx.Done()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	_ = adm.Shutdown(sctx)
	return nil
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// app is the web application: it knows only store.Store.
type app struct{ s store.Store }

type session struct {
	User    string `json:"u"`
	Counter int64  `json:"n"`
}

const lifetime = time.Hour

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("GET /session", a.get)
	mux.HandleFunc("POST /incr", a.incr)
	mux.HandleFunc("POST /rotate", a.rotate)
	mux.HandleFunc("POST /logout", a.logout)
	return mux
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (a *app) save(w http.ResponseWriter, r *http.Request, id string, s session, exp time.Time) bool {
	data, _ := json.Marshal(s)
	if err := a.s.Set(r.Context(), id, store.Record{Data: data, ExpiresAt: exp}); err != nil {
		http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
		return false
	}
	http.SetCookie(w, &http.Cookie{Name: "sid", Value: id, Path: "/", HttpOnly: true, Expires: exp})
	return true
}

func (a *app) load(w http.ResponseWriter, r *http.Request) (string, session, time.Time, bool) {
	c, err := r.Cookie("sid")
	if err != nil {
		http.Error(w, "no session", http.StatusUnauthorized)
		return "", session{}, time.Time{}, false
	}
	rec, found, err := a.s.Get(r.Context(), c.Value)
	switch {
	case err != nil:
		http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
		return "", session{}, time.Time{}, false
	case !found:
		http.Error(w, "no session", http.StatusUnauthorized)
		return "", session{}, time.Time{}, false
	}
	var s session
	if err := json.Unmarshal(rec.Data, &s); err != nil {
		http.Error(w, "corrupt session", http.StatusInternalServerError)
		return "", session{}, time.Time{}, false
	}
	return c.Value, s, rec.ExpiresAt, true
}

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	user := strings.TrimSpace(r.FormValue("user"))
	if user == "" {
		user = "anonymous"
	}
	if a.save(w, r, newID(), session{User: user}, time.Now().Add(lifetime)) {
		writeJSON(w, session{User: user})
	}
}

func (a *app) get(w http.ResponseWriter, r *http.Request) {
	if _, s, _, ok := a.load(w, r); ok {
		writeJSON(w, s)
	}
}

func (a *app) incr(w http.ResponseWriter, r *http.Request) {
	id, s, exp, ok := a.load(w, r)
	if !ok {
		return
	}
	s.Counter++
	if a.save(w, r, id, s, exp) {
		writeJSON(w, s)
	}
}

// rotate issues a new session id for the same data (as after a privilege
// change) and deletes the old one.
func (a *app) rotate(w http.ResponseWriter, r *http.Request) {
	id, s, exp, ok := a.load(w, r)
	if !ok {
		return
	}
	if err := a.s.Delete(r.Context(), id); err != nil {
		http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
		return
	}
	if a.save(w, r, newID(), s, exp) {
		writeJSON(w, s)
	}
}

func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie("sid")
	if err != nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := a.s.Delete(r.Context(), c.Value); err != nil {
		http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: "sid", Value: "", Path: "/", MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
