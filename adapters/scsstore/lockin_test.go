package scsstore_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/adapters/scsstore"
)

// completeStage is the stage after which an application may drop the
// toolkit: Redis is the only store.
var completeStage = stages[len(stages)-1]

// pexpiretime returns the absolute expiry Redis holds for token's key.
func pexpiretime(t *testing.T, client *redis.Client, token string) time.Time {
	t.Helper()
	d, err := client.PExpireTime(context.Background(), prefix+token).Result()
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 {
		t.Fatalf("PEXPIRETIME of the session key: got %v, want an absolute expiry", d)
	}
	return time.UnixMilli(d.Milliseconds())
}

// TestLockInMigratorToGoredisstore: what an scs application commits through
// the Migrator at complete, scs's own goredisstore reads back unchanged —
// the same bytes, the same absolute expiry in Redis — and an scs session
// manager on goredisstore sees the same session (values and deadline).
// What goredisstore deletes, the Migrator no longer finds.
func TestLockInMigratorToGoredisstore(t *testing.T) {
	ctx := context.Background()
	client := redisClient(t)
	m := newMigrator(t, client, completeStage)
	plain := goredisstore.New(client)

	// Store level.
	expiry := time.Now().Add(time.Hour).Add(123 * time.Microsecond)
	if err := scsstore.New(m).CommitCtx(ctx, "tok", []byte("encoded_data"), expiry); err != nil {
		t.Fatal(err)
	}
	b, found, err := plain.FindCtx(ctx, "tok")
	if err != nil || !found || !bytes.Equal(b, []byte("encoded_data")) {
		t.Fatalf("goredisstore FindCtx: got %q, %t, %v; want encoded_data, true, nil", b, found, err)
	}
	if got, want := pexpiretime(t, client, "tok"), expiry.Truncate(time.Millisecond); !got.Equal(want) {
		t.Errorf("expiry in Redis: got %v, want %v (the expiry scs committed, to the millisecond)", got, want)
	}
	all, err := plain.AllCtx(ctx)
	if err != nil || len(all) != 1 || !bytes.Equal(all["tok"], []byte("encoded_data")) {
		t.Errorf("goredisstore AllCtx: got %q, %v; want only tok", all, err)
	}

	// Session manager level: log in through the Migrator, read with plain scs.
	withMigrator, withPlain := scs.New(), scs.New()
	withMigrator.Store, withPlain.Store = scsstore.New(m), plain
	sctx, err := withMigrator.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	withMigrator.Put(sctx, "user", "alice")
	withMigrator.Put(sctx, "n", int64(42))
	token, deadline, err := withMigrator.Commit(sctx)
	if err != nil {
		t.Fatal(err)
	}
	pctx, err := withPlain.Load(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if u, n := withPlain.GetString(pctx, "user"), withPlain.GetInt64(pctx, "n"); u != "alice" || n != 42 {
		t.Errorf("plain scs reads user %q n %d, want alice 42", u, n)
	}
	if got := withPlain.Deadline(pctx); !got.Equal(deadline) {
		t.Errorf("plain scs reads deadline %v, want %v", got, deadline)
	}
	if got := pexpiretime(t, client, token); !got.Equal(deadline.Truncate(time.Millisecond)) {
		t.Errorf("expiry in Redis: got %v, want the session's deadline %v", got, deadline)
	}

	// A logout by plain scs is seen by the Migrator.
	if err := plain.DeleteCtx(ctx, "tok"); err != nil {
		t.Fatal(err)
	}
	if _, found, err := scsstore.New(m).FindCtx(ctx, "tok"); err != nil || found {
		t.Errorf("Migrator after goredisstore's delete: got found %t, %v; want false, nil", found, err)
	}
}

// TestLockInGoredisstoreToMigrator: sessions scs's goredisstore wrote (an
// instance not yet running the toolkit, or one that dropped it) are read
// through the Migrator at complete with the same bytes and the expiry Redis
// holds, and listed by All. What the Migrator deletes, goredisstore no
// longer finds.
func TestLockInGoredisstoreToMigrator(t *testing.T) {
	ctx := context.Background()
	client := redisClient(t)
	plain := goredisstore.New(client)
	s := scsstore.New(newMigrator(t, client, completeStage))

	expiry := time.Now().Add(time.Hour)
	if err := plain.CommitCtx(ctx, "tok", []byte("encoded_data"), expiry); err != nil {
		t.Fatal(err)
	}
	b, found, err := s.FindCtx(ctx, "tok")
	if err != nil || !found || !bytes.Equal(b, []byte("encoded_data")) {
		t.Fatalf("Migrator FindCtx: got %q, %t, %v; want encoded_data, true, nil", b, found, err)
	}
	all, err := s.AllCtx(ctx)
	if err != nil || len(all) != 1 || !bytes.Equal(all["tok"], []byte("encoded_data")) {
		t.Errorf("Migrator AllCtx: got %q, %v; want only tok", all, err)
	}
	// goredisstore sets a relative TTL: the absolute expiry is whatever
	// Redis computed, and the Migrator must report exactly that.
	redisExpiry := pexpiretime(t, client, "tok")
	if d := redisExpiry.Sub(expiry); d < -time.Second || d > time.Second {
		t.Fatalf("goredisstore stored expiry %v, want about %v", redisExpiry, expiry)
	}

	// Session manager level: log in with plain scs, read through the Migrator.
	withPlain, withMigrator := scs.New(), scs.New()
	withPlain.Store, withMigrator.Store = plain, s
	pctx, err := withPlain.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	withPlain.Put(pctx, "user", "bob")
	token, deadline, err := withPlain.Commit(pctx)
	if err != nil {
		t.Fatal(err)
	}
	mctx, err := withMigrator.Load(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if u := withMigrator.GetString(mctx, "user"); u != "bob" || !withMigrator.Deadline(mctx).Equal(deadline) {
		t.Errorf("through the Migrator: user %q deadline %v, want bob %v", u, withMigrator.Deadline(mctx), deadline)
	}
	// A write through the Migrator keeps the absolute expiry Redis held.
	withMigrator.Put(mctx, "n", int64(1))
	if _, _, err := withMigrator.Commit(mctx); err != nil {
		t.Fatal(err)
	}
	pctx, err = withPlain.Load(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if n := withPlain.GetInt64(pctx, "n"); n != 1 {
		t.Errorf("plain scs after a write through the Migrator: n %d, want 1", n)
	}

	// A logout through the Migrator is seen by plain scs.
	if err := s.DeleteCtx(ctx, "tok"); err != nil {
		t.Fatal(err)
	}
	if _, found, err := plain.FindCtx(ctx, "tok"); err != nil || found {
		t.Errorf("goredisstore after the Migrator's delete: got found %t, %v; want false, nil", found, err)
	}
	if _, err := client.Get(ctx, prefix+"tok").Result(); err != redis.Nil {
		t.Errorf("GET of the deleted session's key: got %v, want redis: nil", err)
	}
}
