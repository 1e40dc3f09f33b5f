package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/internal/vuser"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// maxProblems bounds the problem descriptions the final check keeps.
const maxProblems = 10

// lockInResult is what the final plain-Redis check found.
type lockInResult struct {
	users, usersOK int // users' live sessions
	idle, idleOK   int // sessions from before the migration
	dead, deadOK   int // sessions logged out or rotated away
	prefix         string
	example        string // one session value as stored, for the narration
	problems       []string
}

// bad is the number of sessions Redis does not hold as the app wrote them.
func (l lockInResult) bad() int {
	return l.users - l.usersOK + l.idle - l.idleOK + l.dead - l.deadOK
}

func (l *lockInResult) problem(format string, args ...any) {
	if len(l.problems) < maxProblems {
		l.problems = append(l.problems, fmt.Sprintf(format, args...))
	}
}

// verifyNoLockIn reads every session the load left live, every idle
// session and every ended one straight from Redis with GET and PEXPIRETIME
// at the default scs prefix, as the application's own Redis session store
// would after dropping this toolkit: live ones must hold the application's
// bytes with their original absolute expiry, ended ones must be absent.
func (r *runner) verifyNoLockIn(ctx context.Context, res vuser.Result) lockInResult {
	c := r.oprdb
	l := lockInResult{prefix: redisstore.DefaultPrefix}
	read := func(id string) ([]byte, time.Time, error) {
		key := redisstore.DefaultPrefix + id
		data, err := c.Get(ctx, key).Bytes()
		if err != nil {
			return nil, time.Time{}, err
		}
		exp, err := c.PExpireTime(ctx, key).Result()
		if err != nil {
			return nil, time.Time{}, err
		}
		return data, time.UnixMilli(exp.Milliseconds()), nil
	}
	for _, s := range res.Live {
		l.users++
		data, exp, err := read(s.ID)
		if err != nil {
			l.problem("%s's session: GET: %v", s.User, err)
			continue
		}
		got, err := vuser.DecodeSession(data)
		hi := s.Counter
		if s.Uncertain {
			hi++
		}
		switch {
		case err != nil || got.User != s.User:
			l.problem("%s's session: Redis holds undecodable or foreign data", s.User)
		case got.Counter < s.Counter || got.Counter > hi:
			l.problem("%s's session: counter %d in Redis, want %d", s.User, got.Counter, s.Counter)
		case !exp.Equal(s.Expires):
			l.problem("%s's session: expiry in Redis moved by %v", s.User, exp.Sub(s.Expires))
		default:
			l.usersOK++
			if l.example == "" {
				l.example = string(data)
			}
		}
	}
	for _, idle := range r.idle {
		for _, s := range idle {
			l.idle++
			data, exp, err := read(s.ID)
			switch {
			case err != nil:
				l.problem("an idle session: GET: %v", err)
			case !bytes.Equal(data, s.Data):
				l.problem("an idle session: Redis holds other bytes")
			case !exp.Equal(s.Expires):
				l.problem("an idle session: expiry in Redis moved by %v", exp.Sub(s.Expires))
			default:
				l.idleOK++
			}
		}
	}
	for _, id := range res.Dead {
		l.dead++
		_, err := c.Get(ctx, redisstore.DefaultPrefix+id).Bytes()
		switch {
		case errors.Is(err, redis.Nil):
			l.deadOK++
		case err != nil:
			l.problem("an ended session: GET: %v", err)
		default:
			l.problem("an ended session is back in Redis")
		}
	}
	return l
}
