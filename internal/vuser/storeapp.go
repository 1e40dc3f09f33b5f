package vuser

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// StoreApp is the App of an application whose request handlers use a
// store.Store directly, one store per instance (a Migrator each, in the
// demo). It performs each operation as sessionapp's handlers do, with the
// session stored as JSON (EncodeSession) under a fresh random id and an
// absolute expiry fixed at login and kept by every later write, rotation
// included. A store error is Failed, a miss NoSession, stored bytes that do
// not decode Malformed.
type StoreApp struct {
	// Stores holds one store per instance. Required.
	Stores []store.Store
	// Lifetime is a session's lifetime from login (default 1h).
	Lifetime time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

var _ App = StoreApp{}

// Do implements App.
func (a StoreApp) Do(ctx context.Context, req Request) Reply {
	if req.Instance < 0 || req.Instance >= len(a.Stores) {
		return Reply{Outcome: Failed, Detail: fmt.Sprintf("no instance %d", req.Instance)}
	}
	s := a.Stores[req.Instance]
	if req.Op == Login {
		id, exp := NewID(), a.expiry()
		return a.write(ctx, s, id, Session{User: req.User, Expires: exp}, Reply{SID: id})
	}
	if req.Op == Logout {
		// Like sessionapp's logout: no read first; ending a session that
		// is not there is no error.
		if err := s.Delete(ctx, req.SID); err != nil {
			return Reply{Outcome: Failed, Detail: "logout: " + err.Error()}
		}
		return Reply{Outcome: OK}
	}
	cur, rep := a.load(ctx, s, req.SID)
	if rep.Outcome != OK {
		return rep
	}
	switch req.Op {
	case Read:
		return Reply{Outcome: OK, Session: cur}
	case Increment:
		cur.Counter++
		return a.write(ctx, s, req.SID, cur, Reply{})
	case Rotate:
		if err := s.Delete(ctx, req.SID); err != nil {
			return Reply{Outcome: Failed, Detail: "rotate: delete: " + err.Error()}
		}
		id := NewID()
		return a.write(ctx, s, id, cur, Reply{SID: id})
	}
	return Reply{Outcome: Failed, Detail: fmt.Sprintf("unknown op %d", req.Op)}
}

// expiry is the absolute expiry of a session created now, truncated to the
// millisecond that stores keep, so that every store reports exactly it.
func (a StoreApp) expiry() time.Time {
	now, life := time.Now, a.Lifetime
	if a.Now != nil {
		now = a.Now
	}
	if life == 0 {
		life = time.Hour
	}
	return now().Add(life).Truncate(time.Millisecond)
}

// load reads the session id; rep is OK when sess holds it.
func (a StoreApp) load(ctx context.Context, s store.Store, id string) (sess Session, rep Reply) {
	rec, found, err := s.Get(ctx, id)
	switch {
	case err != nil:
		return Session{}, Reply{Outcome: Failed, Detail: err.Error()}
	case !found:
		return Session{}, Reply{Outcome: NoSession}
	}
	sess, err = DecodeSession(rec.Data)
	if err != nil {
		return Session{}, Reply{Outcome: Malformed, Detail: err.Error()}
	}
	sess.Expires = rec.ExpiresAt
	return sess, Reply{Outcome: OK}
}

// write stores sess under id and returns rep as a success showing sess.
func (a StoreApp) write(ctx context.Context, s store.Store, id string, sess Session, rep Reply) Reply {
	if err := s.Set(ctx, id, store.Record{Data: EncodeSession(sess.User, sess.Counter), ExpiresAt: sess.Expires}); err != nil {
		return Reply{Outcome: Failed, Detail: err.Error()}
	}
	rep.Outcome, rep.Session = OK, sess
	return rep
}

// storedSession is StoreApp's session encoding.
type storedSession struct {
	User    string `json:"u"`
	Counter int64  `json:"n"`
}

// EncodeSession returns the bytes StoreApp stores for a session.
func EncodeSession(user string, counter int64) []byte {
	b, _ := json.Marshal(storedSession{User: user, Counter: counter}) // two plain fields: cannot fail
	return b
}

// DecodeSession decodes bytes EncodeSession made; Expires is left zero
// (the store keeps it beside the bytes).
func DecodeSession(b []byte) (Session, error) {
	var s storedSession
	if err := json.Unmarshal(b, &s); err != nil {
		return Session{}, fmt.Errorf("vuser: stored session: %w", err)
	}
	return Session{User: s.User, Counter: s.Counter}, nil
}

// NewID returns a fresh random session id (256 bits, base64url), shaped
// like scs's tokens. Ids are credentials: never print them.
func NewID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}
