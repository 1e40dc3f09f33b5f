package faultstore

import (
	"testing"

	"github.com/sessionmigrate/sessionmigrate/store"
)

// nopStore satisfies store.Store; these tests never call it.
type nopStore struct{ store.Store }

// A SetFault that keeps Hang must keep the release channel, or calls hanging
// under the old configuration would wake up while the store is still hung.
func TestSetFaultKeepsHangRelease(t *testing.T) {
	s := New(nopStore{})
	if err := s.SetFault(Fault{Hang: true}, OpGet); err != nil {
		t.Fatal(err)
	}
	first := s.ops[OpGet].cfg.Load().release
	if err := s.SetFault(Fault{Hang: true, Latency: 1}, OpGet); err != nil {
		t.Fatal(err)
	}
	if got := s.ops[OpGet].cfg.Load().release; got != first {
		t.Error("release channel replaced while Hang stayed set")
	}
	select {
	case <-first:
		t.Fatal("release channel closed while Hang stayed set")
	default:
	}
	if err := s.SetFault(Fault{}, OpGet); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first:
	default:
		t.Fatal("release channel still open after the hang was lifted")
	}
	if got := s.ops[OpGet].cfg.Load().release; got != nil {
		t.Error("release channel set without Hang")
	}
}
