package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sessionmigrate/sessionmigrate/adapters/scsstore"
	"github.com/sessionmigrate/sessionmigrate/migrate"
	"github.com/sessionmigrate/sessionmigrate/store/faultstore"
	"github.com/sessionmigrate/sessionmigrate/store/memstore"
)

// testApp is the application over a Migrator at dual over two memstores,
// the distributed one behind a faultstore.
type testApp struct {
	srv         *httptest.Server
	local, dist *memstore.Store
	fault       *faultstore.Store
	cookie      cookieSettings
	client      *http.Client
}

func newTestApp(t *testing.T, cookie cookieSettings, stage migrate.Stage) *testApp {
	t.Helper()
	a := &testApp{local: memstore.New(), dist: memstore.New(), cookie: cookie}
	a.fault = faultstore.New(a.dist)
	percent := 0.0
	if stage == migrate.Complete {
		percent = 100
	}
	m, err := migrate.New(a.local, a.fault, migrate.Options{Stage: stage, Percent: percent, DisableGuard: true})
	if err != nil {
		t.Fatal(err)
	}
	sm := scs.New()
	sm.Store = scsstore.New(m)
	sm.Lifetime = time.Hour
	cookie.apply(sm)
	a.srv = httptest.NewServer(newApp(sm, slog.New(slog.DiscardHandler)).routes())
	a.client = &http.Client{}
	t.Cleanup(func() {
		a.srv.Close()
		m.Close()
		a.local.Close()
		a.dist.Close()
	})
	return a
}

// answer is one HTTP answer: its status, the session cookie it set (nil
// if none) and the session it returned.
type answer struct {
	status int
	cookie *http.Cookie
	raw    []string // Set-Cookie headers as sent
	sess   view
}

// do makes one request carrying token as the session cookie ("" for none).
func (a *testApp) do(t *testing.T, method, path, token string, form url.Values) answer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, a.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: a.cookie.name, Value: token})
	}
	resp, err := a.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ans := answer{status: resp.StatusCode, raw: resp.Header.Values("Set-Cookie")}
	for _, c := range resp.Cookies() {
		if c.Name == a.cookie.name {
			ans.cookie = c
		}
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&ans.sess); err != nil {
			t.Fatalf("%s %s: body: %v", method, path, err)
		}
	}
	return ans
}

// login logs user in and returns the session token.
func (a *testApp) login(t *testing.T, user, token string) string {
	t.Helper()
	ans := a.do(t, http.MethodPost, "/login", token, url.Values{"user": {user}})
	if ans.status != http.StatusOK || ans.cookie == nil || ans.cookie.Value == "" || ans.sess.User != user {
		t.Fatalf("login: got %d %+v cookie %v, want 200, the user and a session cookie", ans.status, ans.sess, ans.cookie)
	}
	return ans.cookie.Value
}

// stored reports whether token's session is in the local and the
// distributed store.
func (a *testApp) stored(t *testing.T, token string) (local, dist bool) {
	t.Helper()
	ctx := context.Background()
	_, local, _ = a.local.Get(ctx, token)
	_, dist, _ = a.dist.Get(ctx, token)
	return local, dist
}

var devCookie = cookieSettings{name: "session_id"}

// TestCookieAttributes: the session cookie is a session cookie as it
// should be: HttpOnly, SameSite=Lax, Path=/, Secure as configured, no
// Domain unless configured, no Max-Age or Expires.
func TestCookieAttributes(t *testing.T) {
	tests := []struct {
		name   string
		cookie cookieSettings
		want   []string // attributes the Set-Cookie header must carry
		absent []string // and must not
	}{
		{"defaults", cookieSettings{name: "session_id", secure: true},
			[]string{"session_id=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"}, []string{"Domain", "Max-Age", "Expires"}},
		{"plain HTTP development", cookieSettings{name: "session_id"},
			[]string{"session_id=", "Path=/", "HttpOnly", "SameSite=Lax"}, []string{"Secure", "Domain", "Max-Age", "Expires"}},
		{"domain and name", cookieSettings{name: "sid", secure: true, domain: "example.com"},
			[]string{"sid=", "Domain=example.com", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"}, []string{"Max-Age", "Expires"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t, tt.cookie, migrate.Dual)
			ans := a.do(t, http.MethodPost, "/login", "", url.Values{"user": {"ann"}})
			if ans.status != http.StatusOK || len(ans.raw) != 1 {
				t.Fatalf("login: got %d with Set-Cookie %q, want 200 and one cookie", ans.status, ans.raw)
			}
			for _, w := range tt.want {
				if !strings.Contains(ans.raw[0], w) {
					t.Errorf("Set-Cookie %q lacks %q", ans.raw[0], w)
				}
			}
			for _, w := range tt.absent {
				if strings.Contains(ans.raw[0], w) {
					t.Errorf("Set-Cookie %q has %q, want none", ans.raw[0], w)
				}
			}
		})
	}
}

// TestLoginRenewsToken: a login always issues a new token; a token known
// before (session fixation) no longer names a session.
func TestLoginRenewsToken(t *testing.T) {
	a := newTestApp(t, devCookie, migrate.Dual)
	first := a.login(t, "ann", "")
	if got := a.do(t, http.MethodPost, "/incr", first, nil); got.status != http.StatusOK || got.sess.Counter != 1 {
		t.Fatalf("incr: got %d %+v", got.status, got.sess)
	}
	second := a.login(t, "bob", first)
	if second == first {
		t.Fatal("login with a session cookie kept the token, want a new one")
	}
	if l, d := a.stored(t, first); l || d {
		t.Errorf("the token before login: in local %t, in Redis %t; want gone from both", l, d)
	}
	if got := a.do(t, http.MethodGet, "/session", second, nil); got.sess.User != "bob" || got.sess.Counter != 0 {
		t.Errorf("after login: got %+v, want bob with counter 0 (nothing of the earlier session)", got.sess)
	}
}

// TestSessionLifecycle: increment, rotate and logout through scs, checked
// in both stores the Migrator writes at dual.
func TestSessionLifecycle(t *testing.T) {
	a := newTestApp(t, devCookie, migrate.Dual)
	tok := a.login(t, "ann", "")
	login := a.do(t, http.MethodGet, "/session", tok, nil)
	if d := time.Until(login.sess.Expires); d < 59*time.Minute || d > time.Hour {
		t.Errorf("expiry: %v from now, want the one-hour lifetime", d)
	}
	for want := int64(1); want <= 2; want++ {
		if got := a.do(t, http.MethodPost, "/incr", tok, nil); got.status != http.StatusOK || got.sess.Counter != want {
			t.Fatalf("incr: got %d %+v, want counter %d", got.status, got.sess, want)
		}
	}
	if l, d := a.stored(t, tok); !l || !d {
		t.Fatalf("at dual: in local %t, in Redis %t; want both", l, d)
	}

	rot := a.do(t, http.MethodPost, "/rotate", tok, nil)
	if rot.status != http.StatusOK || rot.cookie == nil || rot.cookie.Value == tok || rot.sess.Counter != 2 {
		t.Fatalf("rotate: got %d %+v cookie %v, want 200, counter 2 and a new token", rot.status, rot.sess, rot.cookie)
	}
	if got := a.do(t, http.MethodGet, "/session", tok, nil); got.status != http.StatusUnauthorized {
		t.Errorf("the rotated-away token: got %d, want 401", got.status)
	}
	if l, d := a.stored(t, tok); l || d {
		t.Errorf("the rotated-away token: in local %t, in Redis %t; want gone", l, d)
	}
	tok = rot.cookie.Value

	out := a.do(t, http.MethodPost, "/logout", tok, nil)
	if out.status != http.StatusNoContent || out.cookie == nil || out.cookie.Value != "" || out.cookie.MaxAge >= 0 {
		t.Fatalf("logout: got %d cookie %v, want 204 and the cookie cleared", out.status, out.cookie)
	}
	if got := a.do(t, http.MethodGet, "/session", tok, nil); got.status != http.StatusUnauthorized {
		t.Errorf("after logout: got %d, want 401", got.status)
	}
	if l, d := a.stored(t, tok); l || d {
		t.Errorf("after logout: in local %t, in Redis %t; want gone", l, d)
	}
}

// TestWithoutSession: every endpoint but login answers 401 to an unknown
// token or no cookie; logout answers 204 and touches no store.
func TestWithoutSession(t *testing.T) {
	a := newTestApp(t, devCookie, migrate.Dual)
	for _, tok := range []string{"", "never-issued"} {
		for _, ep := range []struct{ method, path string }{{"GET", "/session"}, {"POST", "/incr"}, {"POST", "/rotate"}} {
			if got := a.do(t, ep.method, ep.path, tok, nil); got.status != http.StatusUnauthorized {
				t.Errorf("%s %s with token %q: got %d, want 401", ep.method, ep.path, tok, got.status)
			}
		}
		before := a.fault.Stats(faultstore.OpDeleteVersion).Calls
		if got := a.do(t, http.MethodPost, "/logout", tok, nil); got.status != http.StatusNoContent {
			t.Errorf("logout with token %q: got %d, want 204", tok, got.status)
		}
		if after := a.fault.Stats(faultstore.OpDeleteVersion).Calls; after != before {
			t.Errorf("logout without a session deleted %d times, want none", after-before)
		}
	}
}

// TestStoreUnavailable: at complete, Redis failing is the user's problem:
// 503, never a 200 that was not stored.
func TestStoreUnavailable(t *testing.T) {
	a := newTestApp(t, devCookie, migrate.Complete)
	tok := a.login(t, "ann", "")
	if err := a.fault.SetFault(faultstore.Fault{Outage: true}); err != nil {
		t.Fatal(err)
	}
	for _, ep := range []struct{ method, path string }{{"POST", "/login"}, {"GET", "/session"}, {"POST", "/incr"}, {"POST", "/logout"}} {
		if got := a.do(t, ep.method, ep.path, tok, url.Values{"user": {"ann"}}); got.status != http.StatusServiceUnavailable {
			t.Errorf("%s %s with Redis down at complete: got %d, want 503", ep.method, ep.path, got.status)
		}
	}
	a.fault.Reset()
	if got := a.do(t, http.MethodGet, "/session", tok, nil); got.status != http.StatusOK || got.sess.Counter != 0 {
		t.Errorf("after Redis is back: got %d %+v, want the session unchanged", got.status, got.sess)
	}
}
