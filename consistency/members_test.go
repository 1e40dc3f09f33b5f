package consistency_test

import (
	"errors"
	"testing"

	"github.com/sessionmigrate/sessionmigrate/consistency"
)

func TestMembersEncoding(t *testing.T) {
	s := consistency.NewMemberSet("k")
	for _, id := range []string{"a", "b", "c", "a"} {
		s.Add(id)
	}
	m := s.Members()
	if m.Len() != 3 {
		t.Fatalf("Len: got %d, want 3 (duplicates collapse)", m.Len())
	}
	b := m.AppendBinary(nil)
	got, err := consistency.DecodeMembers(b)
	if err != nil || got.Len() != 3 {
		t.Fatalf("DecodeMembers: %v, %v", got, err)
	}
	// Parts decode on their own and union to the whole.
	p1, err1 := consistency.DecodeMembers(b[:8])
	p2, err2 := consistency.DecodeMembers(b[8:])
	if err1 != nil || err2 != nil || consistency.Union(p1, p2).Len() != 3 {
		t.Fatalf("parts: %v %v", err1, err2)
	}
	for _, bad := range [][]byte{b[:7], append(append([]byte{}, b[8:16]...), b[:8]...)} {
		if _, err := consistency.DecodeMembers(bad); !errors.Is(err, consistency.ErrBadMembers) {
			t.Errorf("DecodeMembers(%x): got %v, want ErrBadMembers", bad, err)
		}
	}
}

func FuzzDecodeMembers(f *testing.F) {
	s := consistency.NewMemberSet("k")
	s.Add("a")
	s.Add("b")
	f.Add(s.Members().AppendBinary(nil))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := consistency.DecodeMembers(b)
		if err != nil {
			if !errors.Is(err, consistency.ErrBadMembers) {
				t.Fatalf("error %v does not wrap ErrBadMembers", err)
			}
			return
		}
		if got := string(m.AppendBinary(nil)); got != string(b) {
			t.Fatalf("re-encoding: got %x, want %x", got, b)
		}
	})
}
