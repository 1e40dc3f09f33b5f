package storetest

import (
	"strings"
	"time"

	"github.com/sessionmigrate/sessionmigrate/store"
)

var idTests = []test{
	{"RoundTrip", testOddIDsRoundTrip},
	{"Isolated", testOddIDsIsolated},
}

// oddIDs are session ids that break stores which build keys, patterns, hash
// tags or sidecar names by naive string concatenation.
var oddIDs = []struct{ name, id string }{
	{"plain", "plain-session-id"},
	{"unicode", "séssion-日本語-🔑"},
	{"invalid UTF-8", "bad-\xff\xfe-utf8"},
	{"1 KiB long", strings.Repeat("0123456789abcdef", 64)},
	{"glob star", "*"},
	{"glob question", "?"},
	{"glob class", "[a-z]"},
	{"glob open bracket", "["},
	{"glob close bracket", "]"},
	{"glob mixed", "a*b?c[d]e"},
	{"space", "with space"},
	{"newline", "line\nbreak"},
	{"CRLF", "\r\n"},
	{"hash tag", "{a}"},
	{"reversed braces", "}{"},
	{"empty braces", "{}"},
	{"inner hash tag", "a{b}c"},
	{"open brace", "{"},
	{"backslash", `back\slash`},
	{"NUL byte", "nul\x00byte"},
	{"sidecar-like suffix", "plain-session-id:v"},
	{"sidecar-like hash tag", "{plain-session-id}:v"},
	{"colon", ":"},
}

// oddRecord is the distinct record the suite stores under oddIDs[i].
func (h *harness) oddRecord(i int) store.Record {
	return store.Record{
		Data:      []byte("data of " + oddIDs[i].name),
		ExpiresAt: h.now().Add(time.Hour + time.Duration(i)*time.Second),
	}
}

func testOddIDsRoundTrip(h *harness) {
	for i, tc := range oddIDs {
		want := h.oddRecord(i)
		h.set(tc.id, want)
		got, found := h.get(tc.id)
		if !found {
			h.Errorf("Get(%s id): found = false, want true", tc.name)
			continue
		}
		checkRecord(h.T, "Get("+tc.name+" id)", got, want)
	}
}

// testOddIDsIsolated stores all odd ids, then deletes them one at a time,
// checking after each delete that exactly the remaining ones are intact.
func testOddIDsIsolated(h *harness) {
	want := make([]store.Record, len(oddIDs))
	for i, tc := range oddIDs {
		want[i] = h.oddRecord(i)
		h.set(tc.id, want[i])
	}
	for i, tc := range oddIDs {
		got, found := h.get(tc.id)
		if !found {
			h.Fatalf("Get(%s id) after storing all odd ids: found = false, want true", tc.name)
		}
		checkRecord(h.T, "Get("+tc.name+" id) after storing all odd ids", got, want[i])
	}
	for i, tc := range oddIDs {
		h.del(tc.id)
		for j := i + 1; j < len(oddIDs); j++ {
			got, found := h.get(oddIDs[j].id)
			if !found {
				h.Fatalf("Get(%s id) after Delete(%s id): found = false, want true", oddIDs[j].name, tc.name)
			}
			checkRecord(h.T, "Get("+oddIDs[j].name+" id) after Delete("+tc.name+" id)", got, want[j])
		}
		for j := 0; j <= i; j++ {
			if got, found := h.get(oddIDs[j].id); found {
				h.Fatalf("Get(%s id) after Delete(%s id): found = true (record %s), want false",
					oddIDs[j].name, tc.name, describe(got))
			}
		}
	}
}
