package demo

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"time"
)

// sessionLifetime is the absolute lifetime the demo application gives a
// session at login; nothing in the migration may extend it.
const sessionLifetime = time.Hour

// session is what the demo application keeps per logged-in user, encoded
// as JSON the way a session library would encode its values.
type session struct {
	User    string `json:"u"`
	Counter int64  `json:"n"`
}

func (s session) encode() []byte {
	b, _ := json.Marshal(s) // two plain fields: cannot fail
	return b
}

func decodeSession(b []byte) (session, error) {
	var s session
	err := json.Unmarshal(b, &s)
	return s, err
}

// newSessionID returns a fresh random session id. Ids are credentials: the
// demo never prints them.
func newSessionID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// expiryFrom returns the absolute expiry of a session created at now,
// rounded to the millisecond that Redis keeps, so that every store reports
// exactly the instant the application chose.
func expiryFrom(now time.Time) time.Time {
	return now.Add(sessionLifetime).Truncate(time.Millisecond)
}
