package vuser

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// cookieName is the session cookie of the fake application.
const cookieName = "session_id"

// fault is the promise a fakeApp breaks.
type fault int

const (
	faultNone       fault = iota
	faultLoseWrites       // every third increment is acknowledged, not stored
	faultResurrect        // logout and rotate keep the old session
	faultLogout           // every seventh read answers 401
	faultFail             // every seventh request answers 503
	faultPhantom          // every fifth read shows a counter ahead by 3
	faultExpiry           // every fifth read shows a later expiry
	faultGarbage          // every fifth read answers 200 with a body that is no session
)

func (f fault) String() string {
	return [...]string{"none", "lose_writes", "resurrect", "logout", "fail", "phantom", "expiry", "garbage"}[f]
}

// fakeApp implements sessionapp's endpoints over one map, breaking one
// promise. Every instance of a test serves the same fakeApp, as instances
// sharing a correct distributed store would.
type fakeApp struct {
	fault fault

	mu       sync.Mutex
	sessions map[string]wireSession
	n        int // requests, to pick which ones break
}

func newFakeApp(f fault) *fakeApp {
	return &fakeApp{fault: f, sessions: map[string]wireSession{}}
}

func (a *fakeApp) get(id string) wireSession {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions[id]
}

func (a *fakeApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n++
	if a.fault == faultFail && a.n%7 == 0 {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	id := ""
	if c, err := r.Cookie(cookieName); err == nil {
		id = c.Value
	}
	s, ok := a.sessions[id]
	op := r.Method + " " + r.URL.Path
	if op == "POST /login" {
		a.issue(w, wireSession{User: r.FormValue("user"), Expires: time.Now().Add(time.Hour).Round(0)})
		return
	}
	if !ok || (op == "GET /session" && a.fault == faultLogout && a.n%7 == 0) {
		if op == "POST /logout" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		http.Error(w, "no session", http.StatusUnauthorized)
		return
	}
	switch op {
	case "GET /session":
		switch {
		case a.fault == faultPhantom && a.n%5 == 0:
			s.Counter += 3
		case a.fault == faultExpiry && a.n%5 == 0:
			s.Expires = s.Expires.Add(time.Second)
		case a.fault == faultGarbage && a.n%5 == 0:
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("<html>"))
			return
		}
		writeSession(w, s)
	case "POST /incr":
		s.Counter++
		if a.fault != faultLoseWrites || a.n%3 != 0 {
			a.sessions[id] = s
		}
		writeSession(w, s)
	case "POST /rotate":
		if a.fault != faultResurrect {
			delete(a.sessions, id)
		}
		a.issue(w, s)
	case "POST /logout":
		if a.fault != faultResurrect {
			delete(a.sessions, id)
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

// issue stores s under a new id, sets the cookie and writes the body.
func (a *fakeApp) issue(w http.ResponseWriter, s wireSession) {
	id := rand.Text()
	a.sessions[id] = s
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id})
	writeSession(w, s)
}

func writeSession(w http.ResponseWriter, s wireSession) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s)
}
