package demo

import "time"

// sessionLifetime is the absolute lifetime the demo application gives a
// session at login; nothing in the migration may extend it.
const sessionLifetime = time.Hour

// expiryFrom returns the absolute expiry of a session created at now,
// rounded to the millisecond that Redis keeps, so that every store reports
// exactly the instant the application chose (vuser.StoreApp does the
// same for the users' sessions).
func expiryFrom(now time.Time) time.Time {
	return now.Add(sessionLifetime).Truncate(time.Millisecond)
}
