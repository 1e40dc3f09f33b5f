package redistest

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestTLSServer: the TLS listener answers a client with the CA's client
// certificate and refuses one without a certificate.
func TestTLSServer(t *testing.T) {
	s, files := StartTLSServer(t)
	tc, err := files.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: s.TLSAddr, TLSConfig: tc, MaxRetries: -1})
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING over mutual TLS: %v", err)
	}
	noCert := tc.Clone()
	noCert.Certificates = nil
	bad := redis.NewClient(&redis.Options{Addr: s.TLSAddr, TLSConfig: noCert, MaxRetries: -1})
	defer bad.Close()
	if err := bad.Ping(ctx).Err(); err == nil {
		t.Errorf("PING without a client certificate: got no error, want the handshake refused")
	}
}
