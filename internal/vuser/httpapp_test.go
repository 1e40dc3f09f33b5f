package vuser

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHTTPAppTargetsAreLoopback(t *testing.T) {
	tests := []struct {
		target string
		ok     bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:8080", true},
		{"http://10.0.0.1:8080", false},
		{"http://example.com", false},
		{"https://127.0.0.1:8080", false},
		{"127.0.0.1:8080", false},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			if _, err := NewHTTPApp(cookieName, []string{tt.target}); (err == nil) != tt.ok {
				t.Errorf("NewHTTPApp: got error %v, want ok=%t", err, tt.ok)
			}
			h, err := NewHTTPApp(cookieName, []string{"http://127.0.0.1:1"})
			if err != nil {
				t.Fatal(err)
			}
			if err := h.SetTarget(0, tt.target); (err == nil) != tt.ok {
				t.Errorf("SetTarget: got error %v, want ok=%t", err, tt.ok)
			}
		})
	}
}

// TestHTTPAppReplies: how each HTTP answer is classified, and that the
// session id travels only in the named cookie.
func TestHTTPAppReplies(t *testing.T) {
	tests := []struct {
		name    string
		op      Op
		status  int
		body    string
		cookie  string
		want    Outcome
		wantSID string
		detail  string
	}{
		{"login", Login, 200, `{"u":"ann","n":0,"exp":"2030-01-01T00:00:00Z"}`, "new", OK, "new", ""},
		{"read", Read, 200, `{"u":"ann","n":4}`, "", OK, "", ""},
		{"read of nothing", Read, 401, "no session", "", NoSession, "", ""},
		{"server error", Increment, 503, "unavailable", "", Failed, "", "status 503"},
		{"logout", Logout, 204, "", "", OK, "", ""},
		{"logout answering 200", Logout, 200, "", "", Failed, "", "status 200"},
		{"garbage", Read, 200, "<html>", "", Malformed, "", "not a session"},
		{"other cookie ignored", Rotate, 200, `{"u":"ann"}`, "", OK, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotCookie, gotPath string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotPath = r.Method + " " + r.URL.String()
				if c, err := r.Cookie(cookieName); err == nil {
					gotCookie = c.Value
				}
				if tt.cookie != "" {
					http.SetCookie(w, &http.Cookie{Name: cookieName, Value: tt.cookie})
				}
				http.SetCookie(w, &http.Cookie{Name: "other", Value: "x"})
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			h, err := NewHTTPApp(cookieName, []string{srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			rep := h.Do(context.Background(), Request{Op: tt.op, SID: "the-sid", User: "ann"})
			if rep.Outcome != tt.want || rep.SID != tt.wantSID || !strings.Contains(rep.Detail, tt.detail) {
				t.Errorf("got %+v, want outcome %d sid %q detail containing %q", rep, tt.want, tt.wantSID, tt.detail)
			}
			if gotCookie != "the-sid" || strings.Contains(gotPath, "the-sid") {
				t.Errorf("request %q with cookie %q: want the id in the cookie only", gotPath, gotCookie)
			}
		})
	}
}

// A transport failure is Failed and its description carries no id.
func TestHTTPAppUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	h, err := NewHTTPApp(cookieName, []string{url})
	if err != nil {
		t.Fatal(err)
	}
	rep := h.Do(context.Background(), Request{Op: Read, SID: "secret-id"})
	if rep.Outcome != Failed || rep.Detail == "" || strings.Contains(rep.Detail, "secret-id") {
		t.Errorf("got %+v, want Failed with a description without the id", rep)
	}
}
