package vuser

import (
	"context"
	"time"
)

// Op is one operation of a virtual user.
type Op int

// The operations, with sessionapp's endpoint for each.
const (
	// Login creates a session for the user (POST /login).
	Login Op = iota
	// Read returns the session (GET /session).
	Read
	// Increment adds one to the session's counter and returns the session
	// (POST /incr).
	Increment
	// Rotate moves the session to a new id, as after a privilege change,
	// and ends the old id (POST /rotate).
	Rotate
	// Logout ends the session (POST /logout).
	Logout
)

func (o Op) String() string {
	switch o {
	case Login:
		return "login"
	case Read:
		return "read"
	case Increment:
		return "increment"
	case Rotate:
		return "rotate"
	case Logout:
		return "logout"
	}
	return "unknown op"
}

// Request is one operation sent to one instance.
type Request struct {
	// Instance is the index of the instance that serves the request.
	Instance int
	Op       Op
	// SID is the session id the request carries; empty for Login.
	SID string
	// User is the user's name; Login stores it in the session.
	User string
}

// Outcome classifies an answer.
type Outcome int

const (
	// OK: the operation was done. Reply.Session is the session after it
	// (except for Logout) and Reply.SID the id handed out by Login and
	// Rotate.
	OK Outcome = iota
	// NoSession: the application does not know the session (HTTP 401).
	NoSession
	// Failed: an error answer, or no answer at all. A write may or may not
	// have been applied.
	Failed
	// Malformed: a success answer that cannot be read (a body that does
	// not decode).
	Malformed
)

// Session is a session as the application shows it.
type Session struct {
	User    string
	Counter int64
	// Expires is the session's absolute expiry as the application reports
	// it; zero when it does not.
	Expires time.Time
}

// Reply is an application's answer to one Request.
type Reply struct {
	Outcome Outcome
	Session Session
	// SID is the session id the answer hands out (Login, Rotate); empty
	// otherwise.
	SID string
	// Detail says what went wrong for Failed and Malformed ("status 503",
	// a transport error). It must never contain a session id.
	Detail string
}

// App is the application under load, as its users see it. Do is called
// concurrently by many users, one request per user at a time, and must
// honour ctx: the load cancels it when it stops, and bounds every request
// with Config.RequestTimeout.
type App interface {
	Do(ctx context.Context, req Request) Reply
}
