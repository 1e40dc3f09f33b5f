package vuser

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sessionmigrate/sessionmigrate/redact"
)

// HTTPApp is the App of sessionapp's endpoints (examples/sessionapp):
//
//	POST /login  (form user=NAME)  200 + session JSON + session cookie
//	GET  /session                  200 + session JSON, or 401
//	POST /incr                     200 + session JSON after the increment, or 401
//	POST /rotate                   200 + session JSON + a new session cookie, or 401
//	POST /logout                   204
//
// where the session JSON is {"u": user, "n": counter, "exp": expiry
// (RFC 3339)}. A 401 is NoSession; any other unexpected status, or no
// answer, is Failed; a 200 whose body does not decode is Malformed. The
// session id travels only in the cookie, never in a URL.
//
// Targets are base URLs on loopback IP addresses only: this is a test
// load, never aimed at another machine. HTTPApp is safe for concurrent use.
type HTTPApp struct {
	cookie string
	client *http.Client

	mu      sync.RWMutex
	targets []string
}

var _ App = (*HTTPApp)(nil)

// NewHTTPApp returns an HTTPApp for the instances at targets
// ("http://127.0.0.1:port", one per instance) whose session cookie is
// named cookie. Close releases its connections.
func NewHTTPApp(cookie string, targets []string) (*HTTPApp, error) {
	if cookie == "" || len(targets) == 0 {
		return nil, fmt.Errorf("vuser: HTTPApp needs a cookie name and targets")
	}
	for _, t := range targets {
		if err := checkLoopback(t); err != nil {
			return nil, err
		}
	}
	return &HTTPApp{
		cookie: cookie,
		client: &http.Client{
			Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
			// The session cookie is handled by hand, per user.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		targets: append([]string(nil), targets...),
	}, nil
}

// SetTarget points instance inst at a new base URL, as when a restarted
// instance listens on another port.
func (a *HTTPApp) SetTarget(inst int, target string) error {
	if err := checkLoopback(target); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if inst < 0 || inst >= len(a.targets) {
		return fmt.Errorf("vuser: instance %d outside 0..%d", inst, len(a.targets)-1)
	}
	a.targets[inst] = target
	return nil
}

// Close closes idle connections.
func (a *HTTPApp) Close() { a.client.CloseIdleConnections() }

// checkLoopback returns an error unless target is an http URL whose host
// is a loopback IP address.
func checkLoopback(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("vuser: target %q: %w", target, err)
	}
	ip := net.ParseIP(u.Hostname())
	if u.Scheme != "http" || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("vuser: target %q: want http://<loopback IP>:<port>", target)
	}
	return nil
}

// wireSession is the session JSON of sessionapp's answers.
type wireSession struct {
	User    string    `json:"u"`
	Counter int64     `json:"n"`
	Expires time.Time `json:"exp"`
}

// endpoints maps each Op to its method and path.
var endpoints = [...]struct{ method, path string }{
	Login:     {http.MethodPost, "/login"},
	Read:      {http.MethodGet, "/session"},
	Increment: {http.MethodPost, "/incr"},
	Rotate:    {http.MethodPost, "/rotate"},
	Logout:    {http.MethodPost, "/logout"},
}

// Do implements App.
func (a *HTTPApp) Do(ctx context.Context, req Request) Reply {
	a.mu.RLock()
	if req.Instance < 0 || req.Instance >= len(a.targets) {
		a.mu.RUnlock()
		return Reply{Outcome: Failed, Detail: fmt.Sprintf("no instance %d", req.Instance)}
	}
	base := a.targets[req.Instance]
	a.mu.RUnlock()
	ep := endpoints[req.Op]
	var body io.Reader
	if req.Op == Login {
		body = strings.NewReader(url.Values{"user": {req.User}}.Encode())
	}
	hreq, err := http.NewRequestWithContext(ctx, ep.method, base+ep.path, body)
	if err != nil {
		return Reply{Outcome: Failed, Detail: fmt.Sprintf("building request: %v", err)}
	}
	if body != nil {
		hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if req.SID != "" {
		hreq.AddCookie(&http.Cookie{Name: a.cookie, Value: req.SID})
	}
	resp, err := a.client.Do(hreq)
	if err != nil {
		return Reply{Outcome: Failed, Detail: redactID(err.Error(), req.SID)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return Reply{Outcome: Failed, Detail: "reading the answer: " + redactID(err.Error(), req.SID)}
	}
	return a.reply(req.Op, resp, raw)
}

// reply classifies one HTTP answer.
func (a *HTTPApp) reply(op Op, resp *http.Response, raw []byte) Reply {
	want := http.StatusOK
	if op == Logout {
		want = http.StatusNoContent
	}
	switch resp.StatusCode {
	case want:
	case http.StatusUnauthorized:
		return Reply{Outcome: NoSession}
	default:
		return Reply{Outcome: Failed, Detail: fmt.Sprintf("status %d", resp.StatusCode)}
	}
	rep := Reply{Outcome: OK}
	for _, c := range resp.Cookies() {
		if c.Name == a.cookie && c.Value != "" {
			rep.SID = c.Value
		}
	}
	if op == Logout {
		return rep
	}
	var s wireSession
	if err := json.Unmarshal(raw, &s); err != nil {
		return Reply{Outcome: Malformed, Detail: fmt.Sprintf("%d-byte body that is not a session: %v", len(raw), err)}
	}
	rep.Session = Session(s)
	return rep
}

// redactID replaces the session id in s, should a transport error ever
// carry it, by its redacted form (package redact).
func redactID(s, sid string) string {
	return redact.Text(s, "vuser", sid)
}
