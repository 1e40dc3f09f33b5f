package config_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionmigrate/sessionmigrate/config"
)

// writeCert writes a self-signed certificate and its key as PEM files and
// returns their paths.
func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "redis-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestRedisOptions(t *testing.T) {
	c := valid()
	c.Redis.Username = "app"
	c.Redis.DB = 3
	c.Redis.PoolSize = 7
	c.Redis.DialTimeout = 1500 * time.Millisecond
	o, err := c.RedisOptions()
	if err != nil {
		t.Fatalf("RedisOptions: %v", err)
	}
	if o.Addrs[0] != "127.0.0.1:6380" || o.Username != "app" || o.DB != 3 || o.PoolSize != 7 ||
		o.DialTimeout != 1500*time.Millisecond || o.ReadTimeout != 3*time.Second || o.WriteTimeout != 3*time.Second ||
		!o.ContextTimeoutEnabled || o.TLSConfig != nil || o.IsClusterMode || o.MasterName != "" {
		t.Errorf("got %+v, want the configured values", o)
	}
}

func TestRedisClientTopology(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *config.Config)
		check  func(redis.UniversalClient) bool
	}{
		{"standalone", func(*config.Config) {}, func(u redis.UniversalClient) bool { _, ok := u.(*redis.Client); return ok }},
		{"cluster", func(c *config.Config) { c.Redis.Cluster = true }, func(u redis.UniversalClient) bool { _, ok := u.(*redis.ClusterClient); return ok }},
		{"sentinel", func(c *config.Config) { c.Redis.MasterName, c.Redis.Addrs = "mymaster", []string{"a:26379", "b:26379"} },
			func(u redis.UniversalClient) bool { _, ok := u.(*redis.Client); return ok }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.mutate(&c)
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			u, err := c.RedisClient()
			if err != nil {
				t.Fatalf("RedisClient: %v", err)
			}
			defer u.Close()
			if !tt.check(u) {
				t.Errorf("got %T, want the %s client", u, tt.name)
			}
		})
	}
}

func TestPasswordFile(t *testing.T) {
	tests := []struct {
		name    string
		content *string // nil: no file
		want    string
		wantErr string
	}{
		{"trailing newline trimmed", ptr("s3cret\n"), "s3cret", ""},
		{"crlf trimmed", ptr("s3cret\r\n"), "s3cret", ""},
		{"inner spaces kept", ptr(" a b "), " a b ", ""},
		{"empty", ptr("\n"), "", "redis.password_file: "},
		{"missing", nil, "", "redis.password_file: cannot read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			c.Redis.PasswordFile = filepath.Join(t.TempDir(), "missing")
			if tt.content != nil {
				c.Redis.PasswordFile = writeFile(t, "pw", *tt.content)
			}
			o, err := c.RedisOptions()
			verr := c.Validate()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("RedisOptions: got %v, want %q", err, tt.wantErr)
				}
				if verr == nil || !hasLine(verr.Error(), tt.wantErr) {
					t.Errorf("Validate: got %v, want a line %q", verr, tt.wantErr)
				}
				return
			}
			if err != nil || verr != nil {
				t.Fatalf("RedisOptions: %v; Validate: %v", err, verr)
			}
			if o.Password != tt.want {
				t.Errorf("password: got %q, want %q", o.Password, tt.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestTLS(t *testing.T) {
	cert, key := writeCert(t)
	notPEM := writeFile(t, "junk.pem", "not a certificate")
	missing := filepath.Join(t.TempDir(), "missing.pem")
	tests := []struct {
		name    string
		tls     config.TLS
		wantErr string
	}{
		{"ca and client cert", config.TLS{Enabled: true, CAFile: cert, CertFile: cert, KeyFile: key, ServerName: "redis"}, ""},
		{"system roots", config.TLS{Enabled: true}, ""},
		{"ca unreadable", config.TLS{Enabled: true, CAFile: missing}, "redis.tls.ca_file: cannot read: open " + missing},
		{"ca not pem", config.TLS{Enabled: true, CAFile: notPEM}, "redis.tls.ca_file: " + notPEM + " holds no PEM certificate"},
		{"cert without key", config.TLS{Enabled: true, CertFile: cert}, "redis.tls.key_file: must be set with redis.tls.cert_file"},
		{"key without cert", config.TLS{Enabled: true, KeyFile: key}, "redis.tls.cert_file: must be set with redis.tls.key_file"},
		{"cert unreadable", config.TLS{Enabled: true, CertFile: missing, KeyFile: key}, "redis.tls.cert_file: cannot read"},
		{"key unreadable", config.TLS{Enabled: true, CertFile: cert, KeyFile: missing}, "redis.tls.key_file: cannot read"},
		{"key mismatch", config.TLS{Enabled: true, CertFile: cert, KeyFile: notPEM}, "redis.tls.cert_file, redis.tls.key_file: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			c.Redis.TLS = tt.tls
			o, err := c.RedisOptions()
			verr := c.Validate()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("RedisOptions: got %v, want %q", err, tt.wantErr)
				}
				if verr == nil || !hasLine(verr.Error(), tt.wantErr) {
					t.Errorf("Validate: got %v, want a line %q", verr, tt.wantErr)
				}
				return
			}
			if err != nil || verr != nil {
				t.Fatalf("RedisOptions: %v; Validate: %v", err, verr)
			}
			tc := o.TLSConfig
			if tc == nil || tc.ServerName != tt.tls.ServerName || (tt.tls.CAFile != "") != (tc.RootCAs != nil) || (tt.tls.CertFile != "") != (len(tc.Certificates) == 1) {
				t.Errorf("got TLS config %+v, want one matching %+v", tc, tt.tls)
			}
		})
	}
}
