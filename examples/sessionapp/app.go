package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
)

// Session keys.
const (
	keyUser    = "user"
	keyCounter = "n"
)

// app is the web application. It knows only its scs.SessionManager; where
// the sessions live (process memory, Redis, both) is the Migrator's
// business behind the manager's store.
type app struct {
	sm     *scs.SessionManager
	logger *slog.Logger
}

// newApp returns the application over sm and sets sm's ErrorFunc: a
// session store that cannot answer is a 503, logged without the session.
func newApp(sm *scs.SessionManager, logger *slog.Logger) *app {
	a := &app{sm: sm, logger: logger}
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		a.logger.Warn("session store error", "method", r.Method, "path", r.URL.Path, "err", err)
		http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
	}
	return a
}

// routes returns the application's handler. Every route runs inside
// LoadAndSave, which loads the session named by the cookie before the
// handler and commits it, with the cookie, when the handler first writes.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("GET /session", a.session)
	mux.HandleFunc("POST /incr", a.incr)
	mux.HandleFunc("POST /rotate", a.rotate)
	mux.HandleFunc("POST /logout", a.logout)
	return a.sm.LoadAndSave(mux)
}

// view is a session as the endpoints return it.
type view struct {
	User    string    `json:"u"`
	Counter int64     `json:"n"`
	Expires time.Time `json:"exp"`
}

// login starts a new session for the user in the form. The token is always
// renewed, so a token known before login (session fixation) is worthless
// after it; values of an earlier session are dropped.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	user := strings.TrimSpace(r.FormValue("user"))
	if user == "" {
		user = "anonymous"
	}
	ctx := r.Context()
	if err := a.sm.RenewToken(ctx); err != nil {
		a.sm.ErrorFunc(w, r, err)
		return
	}
	if err := a.sm.Clear(ctx); err != nil {
		a.sm.ErrorFunc(w, r, err)
		return
	}
	a.sm.Put(ctx, keyUser, user)
	a.sm.Put(ctx, keyCounter, int64(0))
	a.write(w, r)
}

// session returns the session, or 401 when the request has none.
func (a *app) session(w http.ResponseWriter, r *http.Request) {
	if a.loggedIn(w, r) {
		a.write(w, r)
	}
}

// incr adds one to the session's counter.
func (a *app) incr(w http.ResponseWriter, r *http.Request) {
	if !a.loggedIn(w, r) {
		return
	}
	ctx := r.Context()
	a.sm.Put(ctx, keyCounter, a.sm.GetInt64(ctx, keyCounter)+1)
	a.write(w, r)
}

// rotate gives the session a new token with the same data, as after a
// privilege change: the old token is deleted from the store at once.
func (a *app) rotate(w http.ResponseWriter, r *http.Request) {
	if !a.loggedIn(w, r) {
		return
	}
	if err := a.sm.RenewToken(r.Context()); err != nil {
		a.sm.ErrorFunc(w, r, err)
		return
	}
	a.write(w, r)
}

// logout destroys the session in the store and clears the cookie. Without
// a session it only answers: there is nothing to destroy.
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if a.sm.Token(ctx) != "" {
		if err := a.sm.Destroy(ctx); err != nil {
			a.sm.ErrorFunc(w, r, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// loggedIn answers 401 unless the request carries a logged-in session.
func (a *app) loggedIn(w http.ResponseWriter, r *http.Request) bool {
	if a.sm.GetString(r.Context(), keyUser) == "" {
		http.Error(w, "no session", http.StatusUnauthorized)
		return false
	}
	return true
}

// write answers with the session as JSON. The first write makes
// LoadAndSave commit a modified session; if that fails, ErrorFunc has
// already answered 503.
func (a *app) write(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := view{User: a.sm.GetString(ctx, keyUser), Counter: a.sm.GetInt64(ctx, keyCounter), Expires: a.sm.Deadline(ctx)}
	b, _ := json.Marshal(v) // plain fields: cannot fail
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(b, '\n'))
}
