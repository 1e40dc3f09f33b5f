package redisstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/store"
	"github.com/sessionmigrate/sessionmigrate/store/redisstore"
)

// A store over a cluster. ContextTimeoutEnabled makes go-redis honour the
// store's per-call Timeout and callers' deadlines on the socket.
func ExampleNew() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
		ContextTimeoutEnabled: true,
	})
	defer client.Close()

	opts := redisstore.Options{MaxTTL: 12 * time.Hour, Timeout: 50 * time.Millisecond}
	if err := opts.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	s := redisstore.New(client, opts)

	ctx := context.Background()
	err := s.Set(ctx, "session-id", store.Record{
		Data:      []byte("encoded session"),
		ExpiresAt: time.Now().Add(time.Hour),
		Version:   42,
	})
	if err != nil {
		fmt.Println(err)
	}
}

func ExampleOptions_Validate() {
	err := redisstore.Options{Prefix: "{app}:session:"}.Validate()
	fmt.Println(err)
	// Output:
	// redisstore: invalid options: Prefix must not start with '{' (sidecar keys do)
}
